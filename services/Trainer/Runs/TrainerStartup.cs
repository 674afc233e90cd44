using LlmMesh.ModelStore;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// At start-up, before the service answers requests: configures TorchSharp, resumes a run the
/// previous process left unfinished and, when the model store has no bundle yet, starts the
/// configured preset (the main job's first model). At shutdown: lets the active run reach a safe
/// point.
/// </summary>
public sealed class TrainerStartup(
    RunCoordinator coordinator,
    RunRepository runs,
    ModelBundleStore bundles,
    TorchReadiness torch,
    IOptions<TrainerOptions> options,
    ILogger<TrainerStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        torch.Initialize(options.Value.Threads);

        var unfinished = runs.List().Where(r => !r.IsFinished).ToArray();
        foreach (var (runId, reason) in runs.Unreadable)
        {
            logger.LogWarning("Ignoring run {RunId}: its run.json cannot be read ({Reason})", runId, reason);
        }
        if (unfinished.Length > 0)
        {
            foreach (var superseded in unfinished.Skip(1))
            {
                runs.Save(superseded with { Status = RunStatus.Failed, Error = "interrupted; a newer run was resumed instead", UpdatedAt = DateTimeOffset.UtcNow });
            }
            logger.LogInformation("Resuming interrupted run {RunId}", unfinished[0].RunId);
            coordinator.Resume(unfinished[0]);
            return Task.CompletedTask;
        }

        var preset = options.Value.AutoTrainPreset;
        if (!string.IsNullOrEmpty(preset) && bundles.LatestVersion() is null)
        {
            logger.LogInformation("The model store has no model yet: training the '{Preset}' preset", preset);
            coordinator.Start(RunSettings.FromRequest(new Contracts.V1.StartRunRequest { Preset = preset, Seed = 1 }));
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await coordinator.WaitForActiveAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("The active run did not stop in time; it resumes from its last checkpoint");
        }
    }
}

/// <summary>Ready once libtorch is loaded and its thread count set.</summary>
public sealed class TorchReadiness
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    public void Initialize(int threads)
    {
        torch.set_num_threads(threads);
        using var warmUp = torch.ones(8).sum();
        _ready = warmUp.item<float>() == 8;
    }
}
