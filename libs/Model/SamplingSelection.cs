using LlmMesh.ModelStore;
using LlmMesh.Evaluation;

namespace LlmMesh.Model;

/// <summary>One sampling setting and what its samples scored on the held-out split.</summary>
public sealed record SamplingTrial(RecommendedSampling Sampling, TextEvaluationReport Report);

/// <summary>The chosen setting and every trial that led to it (a quality-diversity curve per family).</summary>
public sealed record SamplingChoice(SamplingTrial Chosen, IReadOnlyList<SamplingTrial> Trials);

/// <summary>
/// Chooses the sampling settings a bundle recommends. Diversity (Self-BLEU-4) falls as the
/// temperature rises, and so does quality (BLEU-4): for each family of settings (a latent
/// temperature, a truncation) the search finds the lowest temperature whose samples are at least
/// as diverse as <see cref="MaxSelfBleu4"/> allows, then the
/// family whose samples score the best BLEU-4 there wins, among settings that copy at most
/// <see cref="MaxCopyRate"/> of the training text verbatim.
/// </summary>
public static class SamplingSelection
{
    /// <summary>
    /// The quality bar's diversity limit (Self-BLEU-4 .60 on unseen captions) less a margin for the
    /// seed-to-seed spread; real COCO captions score .573.
    /// </summary>
    public const double MaxSelfBleu4 = 0.59;
    public const double MaxCopyRate = 0.02;
    public const double MinTemperature = 0.5;
    public const double MaxTemperature = 1.5;
    private const int StepsPerFamily = 5;

    /// <summary>
    /// The families searched by default: plain sampling. On COCO, nucleus and min-p truncation and a
    /// latent temperature below 1 all scored lower BLEU-4 than a lower token temperature at equal
    /// Self-BLEU-4 (docs/quality.md), so a run does not spend its evaluation time on them.
    /// </summary>
    public static IReadOnlyList<RecommendedSampling> DefaultFamilies { get; } = [RecommendedSampling.Plain];

    /// <param name="evaluate">Draws and scores samples with a setting (the same pool size and seed every time).</param>
    /// <param name="families">The families to search a temperature for (see <see cref="DefaultFamilies"/>).</param>
    public static SamplingChoice Choose(Func<RecommendedSampling, TextEvaluationReport> evaluate,
        IReadOnlyList<RecommendedSampling> families, CancellationToken cancellationToken = default)
    {
        var trials = new List<SamplingTrial>();
        var best = new List<SamplingTrial>();
        foreach (var family in families)
        {
            var curve = Search(family, evaluate, cancellationToken);
            trials.AddRange(curve);
            best.Add(curve.Where(Admissible).OrderBy(t => t.Sampling.Temperature).FirstOrDefault()
                ?? curve.OrderBy(t => t.Report.SelfBleu.Bleu4).First());
        }
        var chosen = best.Where(Admissible).OrderByDescending(t => t.Report.Bleu.Bleu4).FirstOrDefault()
            ?? best.OrderBy(t => t.Report.SelfBleu.Bleu4).First();
        return new SamplingChoice(chosen, trials.OrderByDescending(t => t.Sampling.LatentTemperature).ThenBy(t => t.Sampling.MinP)
            .ThenBy(t => t.Sampling.TopP).ThenBy(t => t.Sampling.Temperature).ToArray());
    }

    public static bool Admissible(SamplingTrial trial) =>
        trial.Report.SelfBleu.Bleu4 <= MaxSelfBleu4 && trial.Report.TrainCopyRate <= MaxCopyRate;

    /// <summary>
    /// Searches the temperature at which Self-BLEU-4 meets the target: bisection on a bracket,
    /// each step at the secant estimate (Self-BLEU-4 is close to linear in the temperature there).
    /// </summary>
    private static List<SamplingTrial> Search(RecommendedSampling family, Func<RecommendedSampling, TextEvaluationReport> evaluate,
        CancellationToken cancellationToken)
    {
        var trials = new List<SamplingTrial>();
        SamplingTrial Try(double temperature)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sampling = family with { Temperature = Math.Round(temperature, 3) };
            var trial = trials.FirstOrDefault(t => t.Sampling == sampling) ?? new SamplingTrial(sampling, evaluate(sampling));
            if (!trials.Contains(trial))
            {
                trials.Add(trial);
            }
            return trial;
        }
        var (low, high) = (Try(1.0), (SamplingTrial?)null);
        if (Diverse(low))
        {
            (high, low) = (low, Try(0.85));
        }
        else
        {
            high = Try(1.15);
        }
        // Widen until the target lies between the two.
        while (Diverse(low) && low.Sampling.Temperature > MinTemperature)
        {
            (high, low) = (low, Try(Math.Max(MinTemperature, low.Sampling.Temperature - 0.25)));
        }
        while (!Diverse(high) && high.Sampling.Temperature < MaxTemperature)
        {
            (low, high) = (high, Try(Math.Min(MaxTemperature, high.Sampling.Temperature + 0.25)));
        }
        while (trials.Count < StepsPerFamily && !Diverse(low) && Diverse(high) && high.Sampling.Temperature - low.Sampling.Temperature > 0.011)
        {
            var (tl, th) = (low.Sampling.Temperature, high.Sampling.Temperature);
            var (sl, sh) = (low.Report.SelfBleu.Bleu4, high.Report.SelfBleu.Bleu4);
            var secant = sl == sh ? (tl + th) / 2 : tl + (sl - MaxSelfBleu4) / (sl - sh) * (th - tl);
            // Aim a little past the target so that the bracket closes from the diverse side.
            var next = Math.Clamp(secant + 0.005, tl + 0.005, th - 0.005);
            var trial = Try(next);
            if (Diverse(trial))
            {
                high = trial;
            }
            else
            {
                low = trial;
            }
        }
        return trials;
    }

    private static bool Diverse(SamplingTrial trial) => trial.Report.SelfBleu.Bleu4 <= MaxSelfBleu4;
}
