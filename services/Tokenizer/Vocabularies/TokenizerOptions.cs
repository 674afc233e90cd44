using System.ComponentModel.DataAnnotations;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Vocabularies;

public sealed class TokenizerOptions
{
    public const string Section = "Tokenizer";

    /// <summary>Corpus (one sentence per line) that the first vocabulary is trained on when the store has none.</summary>
    [Required]
    public string CorpusPath { get; set; } = "";

    /// <summary>
    /// An upper bound: with <see cref="MinFrequency"/> 1 merging stops when every word of the
    /// corpus is one token (8,230 tokens for the shipped COCO captions). A decoder that never sees
    /// training words in pieces does not stitch pieces into non-words ("toress") when it samples.
    /// </summary>
    [Range(BpeTrainingOptions.MinVocabularySize, BpeTrainingOptions.MaxVocabularySize)]
    public int VocabularySize { get; set; } = 16384;

    [Range(1, int.MaxValue)]
    public int MinFrequency { get; set; } = 1;

    [Range(1, int.MaxValue)]
    public int MaxTextBytes { get; set; } = 1 << 20;

    [Range(1, int.MaxValue)]
    public int MaxIdsPerRequest { get; set; } = 1 << 20;

    [Range(1, long.MaxValue)]
    public long MaxTrainingCorpusBytes { get; set; } = 256L << 20;
}
