using LlmMesh.Model;
using LlmMesh.Serving.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Serving.Torch;

/// <summary>The sentence VAE's GRU decoder step on TorchSharp, for the <see cref="DecodeBatcher"/>; owns the model.</summary>
public sealed class TorchDecoderStep(SentenceVae vae) : IDecoderStep
{
    public int LatentSize => vae.Config.LatentSize;

    public int StateSize => vae.Config.HiddenSize;

    public int VocabularySize => vae.Config.VocabularySize;

    public void InitialStates(float[] z, int count, float[] states)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        vae.eval();
        vae.InitialState(Rows(z, count, LatentSize)).data<float>().CopyTo(states);
    }

    public void Step(int[] tokens, float[] states, float[] z, int count, float[] logits, float[] nextStates)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        vae.eval();
        var tokenTensor = tensor(tokens.Take(count).Select(t => (long)t).ToArray());
        var state = Rows(states, count, StateSize).unsqueeze(0);
        var (stepLogits, next) = vae.DecodeStep(tokenTensor, state, Rows(z, count, LatentSize));
        stepLogits.data<float>().CopyTo(logits);
        next.data<float>().CopyTo(nextStates);
    }

    private static Tensor Rows(float[] values, int count, int width) =>
        tensor(values.AsSpan(0, count * width).ToArray(), [count, width]);

    public void Dispose() => vae.Dispose();
}
