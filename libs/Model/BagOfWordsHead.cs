using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// The auxiliary bag-of-words loss of Zhao et al. (2017): one linear layer predicts, from the code
/// alone, a distribution over the vocabulary that must explain every token of the sentence (order
/// aside). The decoder cannot do this job for the code, so the code has to carry the sentence's
/// content words: what reconstruction and prompt-related text rest on. Used in training only; it
/// is not part of the model a bundle serves.
/// </summary>
public sealed class BagOfWordsHead : nn.Module
{
    private readonly Linear predict;

    public BagOfWordsHead(VaeConfig config, Generator generator) : base(nameof(BagOfWordsHead))
    {
        predict = nn.Linear(config.LatentSize, config.VocabularySize);
        RegisterComponents();
        Initialization.Uniform([predict], generator);
    }

    /// <summary>The summed negative log-likelihood of each sentence's tokens [B, T] (padding ignored) under its code's bag z [B, L], averaged over sentences.</summary>
    public Tensor LossPerSentence(Tensor z, Tensor targets, int padId)
    {
        using var scope = NewDisposeScope();
        var logProbabilities = nn.functional.log_softmax(predict.call(z), 1);
        var tokenLogProbabilities = logProbabilities.gather(1, targets.MaskedFill(targets.EqualTo(padId), 0L));
        var loss = (-(tokenLogProbabilities * targets.NotEqualTo(padId).to_type(tokenLogProbabilities.dtype)).sum()).Over(z.shape[0]);
        return scope.MoveToOuter(loss);
    }
}
