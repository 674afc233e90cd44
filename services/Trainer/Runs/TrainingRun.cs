using System.Threading.Channels;
using LlmMesh.Model;

namespace LlmMesh.Trainer.Runs;

/// <summary>A progress update of a running run.</summary>
public sealed record RunUpdate(
    string RunId, string Phase, long Step, long TotalSteps, int Epoch, int Epochs,
    double ReconstructionPerToken, double KlPerSentence, double KlWeight, double TokensPerSecond, double EtaSeconds,
    EvaluationMetrics? Validation = null, string Message = "")
{
    /// <summary>Adversarial phase: averages since the previous update.</summary>
    public AdversarialStepMetrics? Adversarial { get; init; }

    /// <summary>Set when a phase completes.</summary>
    public IReadOnlyDictionary<string, double>? PhaseMetrics { get; init; }

    /// <summary>A message about a phase, at the run's current position, without training figures.</summary>
    public static RunUpdate Note(RunRecord record, string phase, string message) =>
        new(record.RunId, phase, record.Step, record.TotalSteps, record.Epoch, record.Epochs,
            ReconstructionPerToken: 0, KlPerSentence: 0, KlWeight: 0, TokensPerSecond: 0, EtaSeconds: 0, Validation: null, Message: message);

    /// <summary>Adversarial progress: the GAN's step and its averages since the previous update (the VAE figures stay empty).</summary>
    public static RunUpdate AdversarialProgress(RunRecord record, long step, long totalSteps, AdversarialStepMetrics averages, double etaSeconds) =>
        new(record.RunId, RunPhases.Adversarial, step, totalSteps, record.Epoch, record.Epochs,
            ReconstructionPerToken: 0, KlPerSentence: 0, KlWeight: 0, TokensPerSecond: 0, EtaSeconds: etaSeconds) { Adversarial = averages };
}

/// <summary>What a watcher receives: updates, then the final record.</summary>
public abstract record RunEvent
{
    public sealed record Update(RunUpdate Value) : RunEvent;
    public sealed record Final(RunRecord Record) : RunEvent;
}

/// <summary>
/// A run in this process: its record, its cancellation, and the watchers of its progress. Every
/// watcher has its own bounded queue; a slow watcher loses old updates, never the final record.
/// </summary>
public sealed class TrainingRun(RunRecord record)
{
    private const int WatcherQueue = 256;
    private readonly Lock _gate = new();
    private readonly List<Channel<RunEvent>> _watchers = [];
    private readonly CancellationTokenSource _cancellation = new();
    private RunUpdate? _latest;

    public RunRecord Record { get; private set; } = record;

    public string RunId => Record.RunId;

    /// <summary>Cancelled by CancelRun (not by a shutdown, which leaves the run to resume).</summary>
    public CancellationToken CancellationToken => _cancellation.Token;

    public void Cancel() => _cancellation.Cancel();

    public void UpdateRecord(Func<RunRecord, RunRecord> change)
    {
        lock (_gate)
        {
            Record = change(Record) with { UpdatedAt = DateTimeOffset.UtcNow };
        }
    }

    public void Report(RunUpdate update)
    {
        lock (_gate)
        {
            _latest = update;
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(new RunEvent.Update(update));
            }
        }
    }

    /// <summary>Sends the final record to every watcher and ends their streams.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(new RunEvent.Final(Record));
                watcher.Writer.TryComplete();
            }
            _watchers.Clear();
        }
    }

    /// <summary>A stream of this run's events: the latest update first (or the final record, when finished).</summary>
    public ChannelReader<RunEvent> Watch()
    {
        var channel = Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(WatcherQueue)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        });
        lock (_gate)
        {
            if (Record.IsFinished)
            {
                channel.Writer.TryWrite(new RunEvent.Final(Record));
                channel.Writer.TryComplete();
                return channel.Reader;
            }
            if (_latest is not null)
            {
                channel.Writer.TryWrite(new RunEvent.Update(_latest));
            }
            _watchers.Add(channel);
        }
        return channel.Reader;
    }

    public void Unwatch(ChannelReader<RunEvent> reader)
    {
        lock (_gate)
        {
            _watchers.RemoveAll(w => w.Reader == reader);
        }
    }
}
