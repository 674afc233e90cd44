using System.Globalization;
using LlmMesh.Model;

namespace LlmMesh.Eval;

/// <summary>The command line of <c>scripts/eval.sh</c>; every mistake is reported with what to write instead.</summary>
public sealed record EvalArguments
{
    public const string Usage = """
        usage: scripts/eval.sh [--bundle DIR] [--references FILE] [--samples N] [--out DIR] [options]

          --bundle DIR            a published bundle folder (default: the latest bundle in --store)
          --store DIR             the model store (default: .data/models of this repository)
          --references FILE       held-out sentences, one per line (default: the bundle's held-out split)
          --train FILE            the training sentences (default: the bundle's training split)
          --samples N             samples drawn and scored (default 10000)
          --temperature T         sampling temperature of the main result (default: the bundle's
                                  recommended sampling settings, chosen on its held-out split)
          --top-p P               nucleus sampling of the main result and the sweep (default: the
                                  bundle's; 1 = off)
          --min-p P               min-p truncation of the main result and the sweep (default: the
                                  bundle's; 0 = off)
          --latent-temperature L  scale of the noise behind unconditioned codes (default: the
                                  bundle's; 1 = off)
          --best-of N             candidates per sample, the bundle's discriminator keeping the most
                                  probable, as the generator's best_of (default: the bundle's; 1 = off)
          --latent-source SOURCE  generator (latent GAN, default for adversarial bundles) or prior
          --lm-weight W           mixes a plain language model into every next-token distribution,
                                  p_dec(x|z)^(1-W) * p_lm(x)^W (a product of experts), W in [0, 1]
                                  (default: the bundle's recommendation; 0 = the decoder alone)
          --lm-bundle DIR         the plain language model of --lm-weight: a bundle of the same
                                  vocabulary, e.g. an `lm` preset's (default: the bundle's own
                                  decoder with the code withheld; it needs unconditional_rate > 0)
          --sweep T1,T2,...       temperatures of the quality-diversity curve, with the main result's
                                  truncation (default 0.7,0.8,0.9,1.0,1.1)
          --no-sweep              skip the curve
          --sweep-samples N       samples per curve point (default: --samples; Self-BLEU grows with the pool)
          --self-bleu-subsample N score Self-BLEU for N samples only, each against the whole pool
          --baseline kn4|kn5|real score a Kneser-Ney n-gram LM trained on the training text, or the
                                  training text itself, instead of the bundle's model (same split and
                                  metrics; no temperature)
          --compare DIR           another evaluation's output folder whose curve is drawn too (repeatable)
          --max-tokens N          longest sample in tokens (default 48)
          --seed N                sampling seed (default 1)
          --out DIR               output folder (default: eval/<bundle version>)
        """;

    public string? Bundle { get; init; }
    public string? Store { get; init; }
    public string? References { get; init; }
    public string? Train { get; init; }
    public int Samples { get; init; } = 10_000;
    /// <summary>Null: the bundle's recommendation (as are <see cref="TopP"/> and <see cref="MinP"/>).</summary>
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public double? MinP { get; init; }
    public double? LatentTemperature { get; init; }
    public int? BestOf { get; init; }
    public string? LatentSource { get; init; }
    /// <summary>Null: the bundle's recommendation.</summary>
    public double? LmWeight { get; init; }
    public string? LmBundle { get; init; }
    public string? Baseline { get; init; }
    public IReadOnlyList<double> Sweep { get; init; } = [0.7, 0.8, 0.9, 1.0, 1.1];
    public int? SweepSamples { get; init; }
    public int? SelfBleuSubsample { get; init; }
    public IReadOnlyList<string> Compare { get; init; } = [];
    public int MaxTokens { get; init; } = 48;
    public long Seed { get; init; } = 1;
    public string? Out { get; init; }
    public bool Help { get; init; }

    public static EvalArguments Parse(IReadOnlyList<string> args)
    {
        var result = new EvalArguments();
        var compare = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            result = name switch
            {
                "--help" or "-h" => result with { Help = true },
                "--bundle" => result with { Bundle = Value() },
                "--store" => result with { Store = Value() },
                "--references" => result with { References = Value() },
                "--train" => result with { Train = Value() },
                "--samples" => result with { Samples = Int(name, Value(), 2, 1_000_000) },
                "--temperature" => result with { Temperature = ParseTemperature(name, Value()) },
                "--top-p" => result with { TopP = Probability(name, Value(), zeroAllowed: false) },
                "--min-p" => result with { MinP = Probability(name, Value(), zeroAllowed: true) },
                "--latent-temperature" => result with { LatentTemperature = ParseTemperature(name, Value()) },
                "--best-of" => result with { BestOf = Int(name, Value(), 1, GenerationEvaluationOptions.MaxBestOf) },
                "--latent-source" => result with { LatentSource = Source(Value()) },
                "--lm-weight" => result with { LmWeight = Weight(name, Value()) },
                "--lm-bundle" => result with { LmBundle = Value() },
                "--baseline" => result with { Baseline = Value() is "kn4" or "kn5" or "real" ? args[i] : throw new ArgumentException($"--baseline is 'kn4', 'kn5' or 'real', not '{args[i]}'") },
                "--sweep" => result with { Sweep = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => ParseTemperature(name, t)).ToArray() },
                "--no-sweep" => result with { Sweep = [] },
                "--sweep-samples" => result with { SweepSamples = Int(name, Value(), 2, 1_000_000) },
                "--self-bleu-subsample" => result with { SelfBleuSubsample = Int(name, Value(), 2, 1_000_000) },
                "--compare" => result with { Compare = [.. compare.Append(Value())] },
                "--max-tokens" => result with { MaxTokens = Int(name, Value(), 1, 1024) },
                "--seed" => result with { Seed = long.TryParse(Value(), CultureInfo.InvariantCulture, out var seed) ? seed : throw new ArgumentException($"--seed takes an integer") },
                "--out" => result with { Out = Value() },
                _ => throw new ArgumentException($"unknown option '{name}'"),
            };
            compare = [.. result.Compare];
        }
        return result;
    }

    private static int Int(string name, string text, int min, int max) =>
        int.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{name} takes a whole number from {min} to {max}, not '{text}'");

    private static double ParseTemperature(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value > 0 && value <= 10
            ? value
            : throw new ArgumentException($"{name} takes temperatures in (0, 10], not '{text}'");

    private static double Probability(string name, string text, bool zeroAllowed)
    {
        var valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);
        valid &= zeroAllowed ? value is >= 0 and < 1 : value is > 0 and <= 1;
        return valid ? value : throw new ArgumentException($"{name} takes a number in {(zeroAllowed ? "[0, 1)" : "(0, 1]")}, not '{text}'");
    }

    private static double Weight(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1
            ? value
            : throw new ArgumentException($"{name} takes a weight in [0, 1], not '{text}'");

    private static string Source(string text) => text is "generator" or "prior"
        ? text
        : throw new ArgumentException($"--latent-source is 'generator' or 'prior', not '{text}'");
}
