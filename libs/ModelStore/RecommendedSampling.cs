using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmMesh.ModelStore;

/// <summary>
/// The sampling settings a bundle recommends, chosen on its held-out split when it was trained:
/// what the generator, the gateway and the evaluation use when a request sets none.
/// Bundles published before this existed recommend plain sampling at temperature 1.
/// </summary>
public sealed record RecommendedSampling
{
    public const string Section = "sampling";

    public double Temperature { get; init; } = 1.0;
    /// <summary>Nucleus sampling; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Min-p truncation; 0 = off.</summary>
    public double MinP { get; init; }
    /// <summary>
    /// Scale of the noise from which unconditioned codes are drawn (the latent generator's input,
    /// or z itself for the prior): below 1, codes keep to the typical part of the code space (the
    /// truncation trick of BigGAN); 1 = off.
    /// </summary>
    public double LatentTemperature { get; init; } = 1.0;
    /// <summary>Candidates per completion, the discriminator's most probable returned (best_of); 1 = off.</summary>
    public int BestOf { get; init; } = 1;
    /// <summary>
    /// Weight w of the plain language model mixed into every next-token distribution of an
    /// unconditioned completion, p_dec(x | z)^(1 − w) · p_lm(x)^w (the bundle's own decoder read
    /// with the code withheld; only bundles trained with unconditional_rate above 0); 0 = off.
    /// </summary>
    public double LmWeight { get; init; }

    /// <summary>Plain ancestral sampling: what a bundle without a recommendation gets.</summary>
    public static RecommendedSampling Plain { get; } = new();

    public static RecommendedSampling Read(BundleManifest manifest) =>
        manifest.Hyperparameters.ContainsKey(Section) ? manifest.GetHyperparameters<RecommendedSampling>(Section) : Plain;

    public JsonNode ToJson() => JsonSerializer.SerializeToNode(this, BundleManifest.JsonOptions)!;

    public override string ToString() =>
        FormattableString.Invariant($"temperature {Temperature:0.###}") +
        (TopP < 1 ? FormattableString.Invariant($", top-p {TopP:0.###}") : "") +
        (MinP > 0 ? FormattableString.Invariant($", min-p {MinP:0.###}") : "") +
        (LatentTemperature != 1 ? FormattableString.Invariant($", latent temperature {LatentTemperature:0.###}") : "") +
        (BestOf > 1 ? FormattableString.Invariant($", best of {BestOf}") : "") +
        (LmWeight > 0 ? FormattableString.Invariant($", LM weight {LmWeight:0.###}") : "");
}
