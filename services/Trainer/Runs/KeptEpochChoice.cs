using LlmMesh.Model;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// Which VAE epoch a run goes on with. Of the epochs whose held-out NLL bound is within a
/// tolerance of the lowest seen, the one whose code reconstructs held-out sentences best (greedy
/// decoding from the code). With cyclical KL annealing the bound is lowest early in a cycle while
/// later epochs are about as low and reconstruct several points better; a tolerance of 0 keeps
/// the lowest bound. Decided epoch by epoch with one set of weights kept: when a new lowest bound
/// leaves the kept epoch outside the band, the new epoch is kept.
/// </summary>
public static class KeptEpochChoice
{
    /// <summary>True when <paramref name="candidate"/> replaces <paramref name="kept"/>.</summary>
    /// <param name="kept">The epoch kept so far; null before the first.</param>
    /// <param name="lowestNll">The lowest bound of the epochs before the candidate; null before the first.</param>
    /// <param name="tolerance">Nats per token an epoch may trail the lowest bound by.</param>
    public static bool Replaces(EvaluationMetrics? kept, double? lowestNll, EvaluationMetrics candidate, double tolerance)
    {
        if (kept is null)
        {
            return true;
        }
        if (!double.IsFinite(candidate.NllPerToken))
        {
            return false;
        }
        if (!double.IsFinite(kept.NllPerToken))
        {
            return true;
        }
        var lowest = Math.Min(lowestNll ?? kept.NllPerToken, candidate.NllPerToken);
        if (candidate.NllPerToken > lowest + tolerance)
        {
            return false;
        }
        return kept.NllPerToken > lowest + tolerance
            || candidate.GreedyReconstructionAccuracy > kept.GreedyReconstructionAccuracy
            || (candidate.GreedyReconstructionAccuracy == kept.GreedyReconstructionAccuracy && candidate.NllPerToken < kept.NllPerToken);
    }

    /// <summary>The lowest finite bound once <paramref name="candidate"/> is seen; null while there is none.</summary>
    public static double? LowestNll(double? lowestNll, EvaluationMetrics candidate) =>
        double.IsFinite(candidate.NllPerToken) ? Math.Min(lowestNll ?? candidate.NllPerToken, candidate.NllPerToken) : lowestNll;
}
