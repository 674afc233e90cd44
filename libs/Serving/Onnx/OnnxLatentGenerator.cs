using LlmMesh.Serving.Batching;
using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

/// <summary>The exported latent generator (noise [B, N] -> z [B, L]) on ONNX Runtime.</summary>
public sealed class OnnxLatentGenerator : ILatentCodeGenerator
{
    private readonly InferenceSession _session;

    public OnnxLatentGenerator(string model, int threads)
    {
        _session = OnnxSessions.Open(model, threads);
        NoiseSize = OnnxSessions.Width(_session.InputMetadata["noise"]);
        LatentSize = OnnxSessions.Width(_session.OutputMetadata["z"]);
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
