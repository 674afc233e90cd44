namespace LlmMesh.Contracts.Events;

/// <summary>A tokenizer vocabulary was stored (trained at start-up or through Tokenizer.Train).</summary>
public sealed record VocabularyPublished(
    string Version,
    int Size,
    string CorpusSha256,
    long Lines,
    bool Active,
    DateTimeOffset PublishedAt) : IMeshEvent
{
    public Guid EventId => EventIds.For(nameof(VocabularyPublished), Version, Active);
}
