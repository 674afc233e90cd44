using LlmMesh.ModelStore;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// A plain language model mixed into the decoder's next-token distribution as a product of experts:
/// p(x) ∝ p_dec(x | z)^(1 − w) · p_lm(x)^w, before temperature and truncation. The language model is
/// a decoder read with z = 0: a plain-LM bundle's, or the same decoder when it was trained with
/// codes withheld (<see cref="VaeTrainingOptions.UnconditionalRate"/>).
/// </summary>
public sealed record LanguageModelMix
{
    public LanguageModelMix(SentenceVae languageModel, double weight)
    {
        if (!double.IsFinite(weight) || weight is < 0 or > 1)
        {
            throw new ArgumentException($"the language model's weight must be in [0, 1], not {weight}");
        }
        (LanguageModel, Weight) = (languageModel, weight);
    }

    public SentenceVae LanguageModel { get; }

    /// <summary>
    /// Whether the bundle's decoder read with z = 0 is a plain language model: a plain-LM bundle,
    /// or a latent one trained with codes withheld (otherwise z = 0 is merely the prior's mean code).
    /// </summary>
    public static bool IsLanguageModel(ModelBundle bundle) =>
        !VaeBundle.ReadConfig(bundle).UsesLatent || bundle.Manifest.GetHyperparameters<VaeTrainingOptions>("training").UnconditionalRate > 0;

    public double Weight { get; }

    /// <summary>The language model's state for <paramref name="rows"/> fresh sentences, and the zero codes it reads.</summary>
    internal (Tensor State, Tensor Codes) Start(long rows)
    {
        LanguageModel.eval();
        var codes = zeros(rows, LanguageModel.Config.LatentSize);
        return (LanguageModel.InitialState(codes), codes);
    }

    /// <summary>The mixed log-probabilities [B, V] of the decoder's logits and the language model's next step.</summary>
    internal (Tensor LogProbabilities, Tensor State) Step(Tensor decoderLogits, Tensor tokens, Tensor state, Tensor codes)
    {
        var (logits, next) = LanguageModel.DecodeStep(tokens, state, codes);
        var mixed = nn.functional.log_softmax(decoderLogits, 1).Times(1 - Weight)
            .Plus(nn.functional.log_softmax(logits, 1).Times(Weight));
        return (mixed, next);
    }
}
