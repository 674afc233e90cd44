using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Generator.Generation;

public enum DetokenizationMode
{
    /// <summary>With the bundle's vocabulary from the model store, in process (falls back to Tokenizer when absent).</summary>
    Local,
    /// <summary>Through the tokenizer service's DecodeStream.</summary>
    Tokenizer,
}

public sealed class GeneratorOptions
{
    public const string Section = "Generator";

    /// <summary>The largest max_tokens a request may ask for.</summary>
    [Range(1, 65536)]
    public int MaxTokens { get; set; } = 256;

    [Range(1, 4096)]
    public int DefaultMaxTokens { get; set; } = 32;

    [Range(1, 1 << 20)]
    public int MaxPromptBytes { get; set; } = 4096;

    public DetokenizationMode Detokenization { get; set; } = DetokenizationMode.Local;

    /// <summary>Chunks buffered per stream before decoding waits for the client (backpressure).</summary>
    [Range(1, 4096)]
    public int StreamBuffer { get; set; } = 16;
}
