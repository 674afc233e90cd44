using LlmMesh.Trainer.Corpora;
namespace LlmMesh.Trainer.Runs;

public sealed class RunConflictException(string message) : MeshException(MeshErrorKind.FailedPrecondition, message);

public sealed class RunNotFoundException(string runId) : MeshException(MeshErrorKind.NotFound, $"run '{runId}' was not found");

/// <summary>
/// Starts, cancels, finds and resumes runs. One run trains at a time; starting another while one
/// is active is refused (no queue).
/// </summary>
public sealed class RunCoordinator(
    RunRepository runs,
    CorpusLibrary corpora,
    LlmMesh.ModelStore.ModelBundleStore bundles,
    TrainingRunner runner,
    IHostApplicationLifetime lifetime,
    ILogger<RunCoordinator> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TrainingRun> _live = [];
    private TrainingRun? _active;
    private Task _activeTask = Task.CompletedTask;

    public TrainingRun? Active
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>Starts a new run; throws ArgumentException / CorpusNotFoundException for a bad corpus, RunConflictException when busy.</summary>
    public TrainingRun Start(RunSettings settings)
    {
        corpora.Resolve(settings.Corpus);
        if (settings.StartFromBundle.Length > 0)
        {
            try
            {
                bundles.Open(settings.StartFromBundle, LlmMesh.Model.VaeBundle.KindsWithVae);
            }
            catch (LlmMesh.ModelStore.BundleException ex)
            {
                // Not found, or corrupt / incompatible (no VAE): named after the request's field.
                throw new MeshException(ex.Kind, $"start_from_bundle: {ex.Message}", ex);
            }
        }
        var now = DateTimeOffset.UtcNow;
        var record = new RunRecord { RunId = RunRepository.NewRunId(), Settings = settings, CreatedAt = now, UpdatedAt = now };
        return Launch(record);
    }

    /// <summary>
    /// Changes a corpus (replace, delete) unless the active run trains on it: a run never sees its
    /// corpus change, and a resumed run finds the text it started with.
    /// </summary>
    public T ChangeCorpus<T>(string name, Func<T> change)
    {
        lock (_gate)
        {
            RequireCorpusFree(name);
            return change();
        }
    }

    /// <summary>Throws RunConflictException while the active run trains on corpus <paramref name="name"/>.</summary>
    public void RequireCorpusFree(string name)
    {
        lock (_gate)
        {
            if (_active is { } active && !active.Record.IsFinished && active.Record.Settings.Corpus == name)
            {
                throw new RunConflictException($"corpus '{name}' is used by run '{active.RunId}', which is still training; wait for it to end or cancel it");
            }
        }
    }

    /// <summary>Continues a run that a previous process left unfinished.</summary>
    public TrainingRun Resume(RunRecord record) => Launch(record);

    public TrainingRun Find(string runId)
    {
        lock (_gate)
        {
            if (_live.TryGetValue(runId, out var run))
            {
                return run;
            }
        }
        return new TrainingRun(runs.Find(runId) ?? throw new RunNotFoundException(runId));
    }

    public IReadOnlyList<RunRecord> List(int limit)
    {
        lock (_gate)
        {
            var live = _live.Values.Select(r => r.Record).ToDictionary(r => r.RunId);
            return runs.List().Select(r => live.GetValueOrDefault(r.RunId, r)).Take(limit).ToArray();
        }
    }

    public RunRecord Cancel(string runId)
    {
        var run = Find(runId);
        if (run.Record.IsFinished)
        {
            throw new RunConflictException($"run '{runId}' already ended ({run.Record.Status.ToString().ToLowerInvariant()})");
        }
        run.Cancel();
        return run.Record;
    }

    /// <summary>Waits (bounded) for the active run to stop after a shutdown request.</summary>
    public Task WaitForActiveAsync(CancellationToken cancellationToken)
    {
        Task active;
        lock (_gate)
        {
            active = _activeTask;
        }
        return active.WaitAsync(cancellationToken);
    }

    private TrainingRun Launch(RunRecord record)
    {
        TrainingRun run;
        lock (_gate)
        {
            if (_active is not null)
            {
                throw new RunConflictException($"run '{_active.RunId}' is still training; cancel it or wait for it to end");
            }
            run = new TrainingRun(record);
            runs.Save(record);
            _active = run;
            _live[run.RunId] = run;
            _activeTask = Task.Run(async () =>
            {
                try
                {
                    await runner.ExecuteAsync(run, lifetime.ApplicationStopping);
                }
                finally
                {
                    lock (_gate)
                    {
                        _active = null;
                    }
                }
            });
        }
        logger.LogInformation("Run {RunId} started ({Preset}, corpus {Corpus})", run.RunId, record.Settings.Preset, record.Settings.Corpus);
        return run;
    }
}
