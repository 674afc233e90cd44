namespace LlmMesh.Model;

/// <summary>The KL weight (beta) at a training step.</summary>
public static class KlAnnealing
{
    public static double Weight(VaeTrainingOptions options, long step, long totalSteps)
    {
        var max = options.KlMaxWeight;
        switch (options.KlSchedule)
        {
            case KlSchedule.Constant:
                return max;
            case KlSchedule.Linear:
                return max * Math.Min(1.0, (double)step / options.KlAnnealSteps);
            case KlSchedule.Logistic:
                var midpoint = options.KlAnnealSteps / 2.0;
                var steepness = 10.0 / options.KlAnnealSteps;
                return max / (1.0 + Math.Exp(-steepness * (step - midpoint)));
            case KlSchedule.Cyclical:
                var period = Math.Max(1.0, (double)totalSteps / options.KlCycles);
                var phase = (step % period) / period;
                return max * Math.Min(1.0, phase / options.KlRampFraction);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.KlSchedule, "unknown KL schedule");
        }
    }
}
