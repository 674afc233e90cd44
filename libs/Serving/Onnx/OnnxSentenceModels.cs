using LlmMesh.Serving.Backends;
using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

/// <summary>The exported VAE encoder (encoder.onnx) on ONNX Runtime.</summary>
public sealed class OnnxSentenceEncoder(string model, int threads) : ISentenceEncoder
{
    private readonly OnnxSentenceReader _reader = new(model, threads);

    public int LatentSize => _reader.Width("mu");

    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences)
    {
        var outputs = _reader.Run(sentences, "mu", "logvar");
        return (outputs[0], outputs[1]);
    }

    public void Dispose() => _reader.Dispose();
}

/// <summary>The exported fluency discriminator (text-discriminator.onnx) on ONNX Runtime.</summary>
public sealed class OnnxSentenceClassifier(string model, int threads) : ISentenceClassifier
{
    private readonly OnnxSentenceReader _reader = new(model, threads);

    public double[] Score(IReadOnlyList<int[]> sentences) =>
        sentences.Count == 0 ? [] : _reader.Run(sentences, "logit")[0].Select(row => (double)row[0]).ToArray();

    public void Dispose() => _reader.Dispose();
}

/// <summary>The exported latent critic (latent-critic.onnx) on ONNX Runtime.</summary>
public sealed class OnnxLatentCritic : ILatentCritic
{
    private readonly InferenceSession _session;

    public OnnxLatentCritic(string model, int threads)
    {
        _session = OnnxSessions.Open(model, threads);
        LatentSize = OnnxSessions.Width(_session.InputMetadata["z"]);
    }

    public int LatentSize { get; }

    public double[] Score(IReadOnlyList<float[]> codes)
    {
        if (codes.Count == 0)
        {
            return [];
        }
        var z = new float[codes.Count * LatentSize];
        for (var i = 0; i < codes.Count; i++)
        {
            if (codes[i].Length != LatentSize)
            {
                throw new ArgumentException($"code {i} has {codes[i].Length} values; the critic reads {LatentSize}");
            }
            codes[i].AsSpan().CopyTo(z.AsSpan(i * LatentSize, LatentSize));
        }
        var scores = new float[codes.Count];
        using var input = OrtValue.CreateTensorValueFromMemory(z, [codes.Count, LatentSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(scores, [codes.Count, 1]);
        using var run = new RunOptions();
        _session.Run(run, ["z"], [input], ["score"], [output]);
        return Array.ConvertAll(scores, s => (double)s);
    }

    public void Dispose() => _session.Dispose();
}
