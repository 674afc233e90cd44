using System.Text.Json.Serialization;

namespace LlmMesh.Model;

[JsonConverter(typeof(JsonStringEnumConverter<KlSchedule>))]
public enum KlSchedule
{
    /// <summary>Weight stays at the maximum.</summary>
    Constant,
    /// <summary>Rises linearly to the maximum over KlAnnealSteps.</summary>
    Linear,
    /// <summary>Logistic curve centred at KlAnnealSteps / 2 (Bowman et al. 2016).</summary>
    Logistic,
    /// <summary>KlCycles cycles; each rises linearly over KlRampFraction of the cycle, then holds (Fu et al. 2019).</summary>
    Cyclical,
}

[JsonConverter(typeof(JsonStringEnumConverter<LearningRateSchedule>))]
public enum LearningRateSchedule
{
    Constant,
    /// <summary>Half a cosine from the learning rate down to a tenth of it over the run.</summary>
    Cosine,
}

/// <summary>How a sentence VAE is trained; stored in every bundle.</summary>
public sealed record VaeTrainingOptions
{
    /// <summary>Epochs over the training split; ignored when Steps is set.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Total optimizer steps; 0 = Epochs decide.</summary>
    public long Steps { get; init; }
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Constant;
    public double GradientClip { get; init; } = 5.0;
    /// <summary>Probability of replacing a decoder input token with &lt;unk&gt;: forces the decoder to use z.</summary>
    public double WordDropout { get; init; } = 0.3;
    /// <summary>
    /// Fraction of training sentences decoded with the code withheld (z = 0, no word dropout), so the
    /// decoder also learns p(x): the plain language model that sampling can mix in; 0 = off.
    /// </summary>
    public double UnconditionalRate { get; init; }
    /// <summary>Free bits per latent dimension (batch-averaged KL below this is not penalised); 0 = off.</summary>
    public double FreeBits { get; init; } = 0.125;
    /// <summary>Weight of the auxiliary loss that makes the code alone predict its sentence's words (order aside); 0 = off.</summary>
    public double BagOfWordsWeight { get; init; }
    public KlSchedule KlSchedule { get; init; } = KlSchedule.Cyclical;
    public double KlMaxWeight { get; init; } = 1.0;
    public long KlAnnealSteps { get; init; } = 2000;
    public int KlCycles { get; init; } = 4;
    public double KlRampFraction { get; init; } = 0.5;
    /// <summary>Sentences longer than this (in tokens) are cut.</summary>
    public int MaxSentenceTokens { get; init; } = 64;
    public long Seed { get; init; } = 1;

    /// <summary>The learning rate of a step of a run of <paramref name="totalSteps"/> steps.</summary>
    public double LearningRateAt(long step, long totalSteps) => LearningRateSchedule switch
    {
        LearningRateSchedule.Cosine => LearningRate * (0.1 + 0.45 * (1 + Math.Cos(Math.PI * Math.Min(1.0, (double)step / Math.Max(1, totalSteps))))),
        _ => LearningRate,
    };

    public void Validate()
    {
        Require(Epochs > 0 || Steps > 0, "epochs", "epochs or steps must be positive");
        Require(Epochs >= 0 && Epochs <= 100_000, "epochs", "must be between 1 and 100000");
        Require(Steps is >= 0 and <= 100_000_000, "steps", "must be between 0 and 100000000");
        Require(BatchSize is > 0 and <= 4096, "batch_size", "must be between 1 and 4096");
        Require(Positive(LearningRate) && LearningRate <= 1, "learning_rate", "must be in (0, 1]");
        Require(Enum.IsDefined(LearningRateSchedule), "learning_rate_schedule", "is unknown");
        Require(Positive(GradientClip), "gradient_clip", "must be positive");
        Require(Finite(WordDropout) && WordDropout is >= 0 and < 1, "word_dropout", "must be in [0, 1)");
        Require(Finite(UnconditionalRate) && UnconditionalRate is >= 0 and < 1, "unconditional_rate", "must be in [0, 1)");
        Require(Finite(FreeBits) && FreeBits is >= 0 and <= 100, "free_bits", "must be in [0, 100]");
        Require(Finite(BagOfWordsWeight) && BagOfWordsWeight is >= 0 and <= 100, "bag_of_words_weight", "must be in [0, 100]");
        Require(Finite(KlMaxWeight) && KlMaxWeight is >= 0 and <= 100, "kl_max_weight", "must be in [0, 100]");
        Require(KlAnnealSteps > 0, "kl_anneal_steps", "must be positive");
        Require(KlCycles is > 0 and <= 10_000, "kl_cycles", "must be between 1 and 10000");
        Require(Finite(KlRampFraction) && KlRampFraction is > 0 and <= 1, "kl_ramp_fraction", "must be in (0, 1]");
        Require(MaxSentenceTokens is > 0 and <= 1024, "max_sentence_tokens", "must be between 1 and 1024");
    }

    private static bool Finite(double value) => double.IsFinite(value);

    private static bool Positive(double value) => double.IsFinite(value) && value > 0;

    private static void Require(bool valid, string field, string rule)
    {
        if (!valid)
        {
            throw new ArgumentException($"{field} {rule}");
        }
    }
}
