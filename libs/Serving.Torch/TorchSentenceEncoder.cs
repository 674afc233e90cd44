using LlmMesh.Model;
using LlmMesh.Serving.Backends;
using static TorchSharp.torch;

namespace LlmMesh.Serving.Torch;

/// <summary>The VAE encoder on TorchSharp.</summary>
public sealed class TorchSentenceEncoder(SentenceVae vae) : ISentenceEncoder
{
    public int LatentSize => vae.Config.LatentSize;

    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var batcher = new SentenceBatcher(sentences, sentences.Count, vae.Config);
        using var batch = batcher.Build(Enumerable.Range(0, sentences.Count).ToArray());
        var (mu, logVar) = vae.Encode(batch.Tokens, batch.Lengths);
        return (Rows(mu), Rows(logVar));
    }

    private static float[][] Rows(Tensor matrix)
    {
        var width = (int)matrix.shape[1];
        var data = matrix.data<float>().ToArray();
        return Enumerable.Range(0, data.Length / width).Select(r => data.AsSpan(r * width, width).ToArray()).ToArray();
    }

    public void Dispose() => vae.Dispose();
}
