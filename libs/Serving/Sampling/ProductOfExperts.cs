using System.Numerics.Tensors;

namespace LlmMesh.Serving.Sampling;

/// <summary>
/// The decoder's next-token distribution mixed with a plain language model's:
/// p(x) ∝ p_dec(x | z)^(1 − w) · p_lm(x)^w, as log-probabilities that the sampler takes as logits
/// (the training-side twin is LanguageModelMix).
/// </summary>
public static class ProductOfExperts
{
    /// <summary>Writes (1 − w) · log_softmax(decoder) + w · log_softmax(languageModel) into <paramref name="mixed"/>.</summary>
    public static void Mix(ReadOnlySpan<float> decoder, ReadOnlySpan<float> languageModel, double weight, Span<float> mixed)
    {
        if (decoder.Length != languageModel.Length || mixed.Length != decoder.Length)
        {
            throw new ArgumentException($"the experts' logits must be as long as the output ({decoder.Length}, {languageModel.Length}, {mixed.Length})");
        }
        if (!double.IsFinite(weight) || weight is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "the language model's weight is in [0, 1]");
        }
        var (w, decoderNormalizer, languageModelNormalizer) = ((float)weight, LogSumExp(decoder), LogSumExp(languageModel));
        for (var i = 0; i < mixed.Length; i++)
        {
            mixed[i] = (1 - w) * (decoder[i] - decoderNormalizer) + w * (languageModel[i] - languageModelNormalizer);
        }
    }

    private static float LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = TensorPrimitives.Max(logits);
        var sum = 0.0;
        foreach (var logit in logits)
        {
            sum += Math.Exp(logit - max);
        }
        return max + (float)Math.Log(sum);
    }
}
