namespace LlmMesh.Contracts.Events;

/// <summary>Every training event names its run.</summary>
public interface ITrainingEvent : IMeshEvent
{
    string RunId { get; }
    DateTimeOffset OccurredAt { get; }
}

public sealed record RunStarted(
    string RunId, string Preset, string Corpus, long Seed, long TotalSteps, int Epochs,
    string VocabularyVersion, string SettingsJson, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(RunStarted));
}

/// <param name="Epochs">The run's epochs in all (0 from trainers that did not say).</param>
public sealed record EpochCompleted(
    string RunId, int Epoch, long Step, double TrainReconstructionPerToken, double TrainKlPerSentence,
    double ValidationNllPerToken, double ValidationPerplexity, double ValidationKlPerSentence,
    double ReconstructionAccuracy, int ActiveUnits, double TokensPerSecond, DateTimeOffset OccurredAt, int Epochs = 0) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(EpochCompleted), Epoch);
}

public sealed record CheckpointSaved(string RunId, long Step, int Epoch, string Location, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(CheckpointSaved), Step);
}

/// <summary>A model bundle was published; serving services switch to it.</summary>
/// <param name="Model">The named model the bundle is a version of (empty from trainers before named models: "coco").</param>
public sealed record ModelPublished(
    string RunId, string BundleVersion, string Location, string Kind, string VocabularyVersion,
    IReadOnlyDictionary<string, double> Metrics, DateTimeOffset OccurredAt, string Model = "") : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(ModelPublished), BundleVersion);
}

public sealed record RunCompleted(
    string RunId, string BundleVersion, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(RunCompleted));
}

public sealed record RunFailed(string RunId, string Error, long Step, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(RunFailed));
}

public sealed record RunCancelled(string RunId, long Step, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(RunCancelled));
}

public sealed record PhaseStarted(string RunId, string Phase, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(PhaseStarted), Phase);
}

public sealed record PhaseCompleted(string RunId, string Phase, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset OccurredAt) : ITrainingEvent
{
    public Guid EventId => EventIds.For(RunId, nameof(PhaseCompleted), Phase);
}
