using System.ComponentModel.DataAnnotations;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Vocabularies;

public sealed class TokenizerOptions
{
    public const string Section = "Tokenizer";

    /// <summary>Corpus (one sentence per line) that the first vocabulary is trained on when the store has none.</summary>
    [Required]
    public string CorpusPath { get; set; } = "";

    [Range(BpeTrainingOptions.MinVocabularySize, BpeTrainingOptions.MaxVocabularySize)]
    public int VocabularySize { get; set; } = 2048;

    [Range(1, int.MaxValue)]
    public int MinFrequency { get; set; } = 2;

    [Range(1, int.MaxValue)]
    public int MaxTextBytes { get; set; } = 1 << 20;

    [Range(1, int.MaxValue)]
    public int MaxIdsPerRequest { get; set; } = 1 << 20;

    [Range(1, long.MaxValue)]
    public long MaxTrainingCorpusBytes { get; set; } = 256L << 20;
}
