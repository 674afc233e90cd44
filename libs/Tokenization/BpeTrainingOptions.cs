namespace LlmMesh.Tokenization;

public sealed record BpeTrainingOptions
{
    public const int MinVocabularySize = SpecialTokens.FirstByteId + 256;
    public const int MaxVocabularySize = 1 << 20;

    /// <summary>Final vocabulary size including special and byte tokens.</summary>
    public int VocabularySize { get; init; } = 2048;

    /// <summary>Pairs seen fewer times than this are never merged.</summary>
    public int MinFrequency { get; init; } = 2;

    public void Validate()
    {
        if (VocabularySize is < MinVocabularySize or > MaxVocabularySize)
        {
            throw new ArgumentException($"vocabulary_size must be between {MinVocabularySize} and {MaxVocabularySize}, not {VocabularySize}");
        }
        if (MinFrequency < 1)
        {
            throw new ArgumentException($"min_frequency must be at least 1, not {MinFrequency}");
        }
    }
}
