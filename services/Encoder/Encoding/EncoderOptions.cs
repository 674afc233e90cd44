using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Encoder.Encoding;

public sealed class EncoderOptions
{
    public const string Section = "Encoder";

    [Range(1, 100_000)]
    public int MaxTexts { get; set; } = 256;

    [Range(1, 1 << 20)]
    public int MaxTextBytes { get; set; } = 4096;
}
