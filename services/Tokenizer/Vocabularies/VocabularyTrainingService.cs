using LlmMesh.Contracts.Events;
using LlmMesh.ModelStore.Mirroring;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Vocabularies;

public sealed record VocabularyTrainingResult(BpeVocabulary Vocabulary, bool Created, bool Active);

/// <summary>Trains, stores and announces vocabularies, one training at a time.</summary>
public sealed class VocabularyTrainingService(
    VocabularyRegistry registry,
    EventPublisher events,
    IModelStoreMirror mirror,
    ILogger<VocabularyTrainingService> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<VocabularyTrainingResult> TrainAsync(BpeTrainer trainer, bool activate, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var started = TimeProvider.System.GetTimestamp();
            var vocabulary = await Task.Run(() => trainer.Train(cancellationToken), cancellationToken);
            var created = registry.Store.Save(vocabulary);
            // Shared before it is announced: the services that use it may run on other machines.
            await mirror.PushVocabularyAsync(vocabulary.Version, cancellationToken);
            if (activate)
            {
                registry.Activate(vocabulary.Version, persist: true);
                await mirror.PushFileAsync(S3StoreMirror.ActiveVocabularyFile, cancellationToken);
            }
            logger.LogInformation(
                "Vocabulary {Version} ({Size} tokens) trained on {Lines} lines in {Elapsed}; created: {Created}, active: {Active}",
                vocabulary.Version, vocabulary.Tokens.Count, trainer.Lines, TimeProvider.System.GetElapsedTime(started), created, activate);

            var active = registry.ActiveVersion == vocabulary.Version;
            await events.PublishAsync(new VocabularyPublished(
                vocabulary.Version, vocabulary.Tokens.Count, vocabulary.Training.CorpusSha256, vocabulary.Training.Lines,
                active, DateTimeOffset.UtcNow), cancellationToken);
            return new VocabularyTrainingResult(vocabulary, created, active);
        }
        finally
        {
            _gate.Release();
        }
    }
}
