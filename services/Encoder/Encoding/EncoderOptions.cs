using LlmMesh.Serving.Backends;
using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Encoder.Encoding;

public sealed class EncoderOptions
{
    public const string Section = "Encoder";

    [Range(1, 100_000)]
    public int MaxTexts { get; set; } = 256;

    [Range(1, 1 << 20)]
    public int MaxTextBytes { get; set; } = 4096;

    /// <summary>Torch or Onnx (the bundle's exported encoder, no libtorch); clients see the same contract.</summary>
    public ModelBackend Backend { get; set; } = ModelBackend.Torch;

    /// <summary>Intra-op threads of the backend; 1 keeps concurrent requests from fighting over cores.</summary>
    [Range(1, 256)]
    public int Threads { get; set; } = 1;
}
