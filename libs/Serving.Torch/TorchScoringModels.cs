using LlmMesh.Model;
using LlmMesh.Serving.Backends;
using static TorchSharp.torch;

namespace LlmMesh.Serving.Torch;

/// <summary>The latent critic on TorchSharp.</summary>
public sealed class TorchLatentCritic(LatentCritic critic) : ILatentCritic
{
    public int LatentSize => critic.Config.LatentSize;

    public double[] Score(IReadOnlyList<float[]> codes)
    {
        if (codes.Count == 0)
        {
            return [];
        }
        using var scope = NewDisposeScope();
        return AraeEvaluation.CriticScores(critic, tensor(codes.SelectMany(c => c).ToArray(), [codes.Count, LatentSize]));
    }

    public void Dispose() => critic.Dispose();
}

/// <summary>The fluency discriminator on TorchSharp.</summary>
public sealed class TorchSentenceClassifier(TextDiscriminator discriminator) : ISentenceClassifier
{
    public double[] Score(IReadOnlyList<int[]> sentences) =>
        sentences.Count == 0 ? [] : TextDiscriminatorTraining.Score(discriminator, sentences);

    public void Dispose() => discriminator.Dispose();
}
