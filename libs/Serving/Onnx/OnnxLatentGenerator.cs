using LlmMesh.Serving.Batching;
using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

/// <summary>The exported latent generator (noise [B, N] -> z [B, L]) on ONNX Runtime.</summary>
public sealed class OnnxLatentGenerator : ILatentCodeGenerator
{
    private readonly InferenceSession _session;

    public OnnxLatentGenerator(string model, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
        NoiseSize = checked((int)_session.InputMetadata["noise"].Dimensions[1]);
        LatentSize = checked((int)_session.OutputMetadata["z"].Dimensions[1]);
    }

    public int NoiseSize { get; }

    public int LatentSize { get; }

    public float[] Generate(float[] noise)
    {
        var z = new float[LatentSize];
        using var input = OrtValue.CreateTensorValueFromMemory(noise, [1, NoiseSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(z, [1, LatentSize]);
        using var run = new RunOptions();
        _session.Run(run, ["noise"], [input], ["z"], [output]);
        return z;
    }

    public void Dispose() => _session.Dispose();
}
