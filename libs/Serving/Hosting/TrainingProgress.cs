using LlmMesh.Contracts.Events;
using MassTransit;

namespace LlmMesh.Serving.Hosting;

/// <summary>
/// What the trainer is doing, from its events, so that a serving service waiting for its first
/// model can say why it is not ready ("run 1a2b in phase vae, epoch 3/10") instead of looking broken.
/// </summary>
public sealed class TrainingProgress
{
    private readonly Lock _gate = new();
    private string _runId = "";
    private string _phase = "";
    private int _epoch;
    private int _epochs;
    private string _ended = "";

    /// <summary>The latest run in a sentence, or null before any training event arrived.</summary>
    public string? Describe()
    {
        lock (_gate)
        {
            if (_runId.Length == 0)
            {
                return null;
            }
            if (_ended.Length > 0)
            {
                return $"run {_runId} {_ended}";
            }
            var epoch = _phase == "vae" && _epochs > 0 ? $", epoch {_epoch}/{_epochs}" : "";
            return $"run {_runId} in phase {(_phase.Length > 0 ? _phase : "tokenize")}{epoch}";
        }
    }

    /// <summary>What a service without a model says: its own status, and the trainer's latest run when one was seen.</summary>
    public string WaitingMessage(string status) =>
        Describe() is { } run ? $"waiting for the first model: {run} ({status})" : $"waiting for the first model ({status})";

    public void Started(string runId, int epochs) => Update(runId, () => (_phase, _epoch, _epochs, _ended) = ("", 0, epochs, ""));

    public void Phase(string runId, string phase) => Update(runId, () => _phase = phase);

    public void Epoch(string runId, int epoch, int epochs) => Update(runId, () =>
    {
        (_phase, _epoch) = ("vae", epoch);
        _epochs = epochs > 0 ? epochs : _epochs;
    });

    public void Ended(string runId, string how) => Update(runId, () => _ended = how);

    private void Update(string runId, Action change)
    {
        lock (_gate)
        {
            if (runId != _runId)
            {
                (_runId, _phase, _epoch, _epochs, _ended) = (runId, "", 0, 0, "");
            }
            change();
        }
    }
}

/// <summary>Feeds <see cref="TrainingProgress"/> from the trainer's events.</summary>
public sealed class TrainingProgressConsumer(TrainingProgress progress) :
    IConsumer<RunStarted>, IConsumer<PhaseStarted>, IConsumer<EpochCompleted>, IConsumer<RunCompleted>, IConsumer<RunFailed>, IConsumer<RunCancelled>
{
    public Task Consume(ConsumeContext<RunStarted> context) => Apply(() => progress.Started(context.Message.RunId, context.Message.Epochs));

    public Task Consume(ConsumeContext<PhaseStarted> context) => Apply(() => progress.Phase(context.Message.RunId, context.Message.Phase));

    public Task Consume(ConsumeContext<EpochCompleted> context) =>
        Apply(() => progress.Epoch(context.Message.RunId, context.Message.Epoch, context.Message.Epochs));

    public Task Consume(ConsumeContext<RunCompleted> context) =>
        Apply(() => progress.Ended(context.Message.RunId, $"published {context.Message.BundleVersion}"));

    public Task Consume(ConsumeContext<RunFailed> context) => Apply(() => progress.Ended(context.Message.RunId, $"failed: {context.Message.Error}"));

    public Task Consume(ConsumeContext<RunCancelled> context) => Apply(() => progress.Ended(context.Message.RunId, "was cancelled"));

    private static Task Apply(Action update)
    {
        update();
        return Task.CompletedTask;
    }
}
