using LlmMesh.Model;
using LlmMesh.Trainer.Runs;

namespace LlmMesh.Trainer.Tests;

public sealed class KeptEpochChoiceTests
{
    /// <summary>
    /// Held-out (NLL bound, greedy reconstruction accuracy) at the ends of epochs 0 to 44 of run
    /// 261dcd1963d1 (`full` with free bits .75, four KL cycles; docs/quality.md), to three decimals.
    /// </summary>
    private static readonly (double Nll, double Greedy)[] FourCycleRun =
    [
        (7.932, 0.189), (6.591, 0.230), (6.034, 0.288), (5.799, 0.341), (5.613, 0.379), (5.545, 0.413), (5.329, 0.440),
        (5.165, 0.460), (5.207, 0.480), (5.104, 0.494), (5.165, 0.522), (5.887, 0.556), (5.379, 0.550),
        (5.230, 0.569), (5.143, 0.557), (5.124, 0.576), (4.976, 0.592), (5.068, 0.607), (4.974, 0.615),
        (4.991, 0.622), (5.014, 0.624), (4.905, 0.616), (6.774, 0.659), (5.357, 0.657), (5.145, 0.652),
        (5.078, 0.658), (5.013, 0.660), (4.956, 0.659), (4.959, 0.666), (4.923, 0.663), (4.988, 0.671),
        (4.977, 0.662), (4.989, 0.670), (6.501, 0.681), (5.411, 0.686), (5.128, 0.693), (5.071, 0.688),
        (5.012, 0.683), (4.920, 0.687), (4.950, 0.689), (4.934, 0.692), (4.954, 0.687), (4.942, 0.689),
        (4.958, 0.686), (4.966, 0.689),
    ];

    [Theory]
    [InlineData(0.0, 21)]  // the lowest bound
    [InlineData(0.02, 38)] // 4.920 against 4.905, reconstructing .687 against .616
    [InlineData(0.05, 40)] // 4.934, .692; epoch 27's 4.956 is just outside the band
    public void Of_the_epochs_near_the_lowest_bound_the_best_reconstructing_is_kept(double tolerance, int expectedEpoch) =>
        Assert.Equal(expectedEpoch, KeptEpoch(FourCycleRun, tolerance));

    [Fact]
    public void A_tolerance_of_zero_keeps_the_lowest_bound_and_the_first_of_equal_ones()
    {
        Assert.Equal(1, KeptEpoch([(5.0, 0.9), (4.0, 0.1), (4.5, 0.95), (4.0, 0.1)], 0));
        // An equal bound replaces the kept epoch only when it reconstructs better.
        Assert.Equal(2, KeptEpoch([(5.0, 0.9), (4.0, 0.1), (4.0, 0.2)], 0));
    }

    [Fact]
    public void A_new_lowest_bound_that_leaves_the_kept_epoch_outside_the_band_is_kept_even_if_it_reconstructs_worse()
    {
        // Epoch 1 is kept (within .1 of 4.0, better reconstruction); epoch 2's 3.5 leaves it outside.
        Assert.Equal(2, KeptEpoch([(4.0, 0.5), (4.05, 0.6), (3.5, 0.55), (3.65, 0.9)], 0.1));
        // Within the band, a better reconstruction wins over a lower bound.
        Assert.Equal(1, KeptEpoch([(4.0, 0.5), (4.05, 0.6), (3.98, 0.55)], 0.1));
    }

    [Fact]
    public void An_epoch_without_a_finite_bound_is_kept_only_when_there_is_nothing_else()
    {
        Assert.Equal(0, KeptEpoch([(double.NaN, 0.5), (double.PositiveInfinity, 0.9)], 1));
        Assert.Equal(1, KeptEpoch([(double.NaN, 0.5), (5.0, 0.1), (double.NaN, 0.9)], 1));
        Assert.Null(KeptEpochChoice.LowestNll(null, Metrics(double.NaN, 0.5)));
        Assert.Equal(4.0, KeptEpochChoice.LowestNll(4.0, Metrics(double.PositiveInfinity, 0.5)));
    }

    /// <summary>The epoch (numbered from 0, as the trainer does) the run goes on with, deciding epoch by epoch as the VAE phase does.</summary>
    internal static int KeptEpoch(IReadOnlyList<(double Nll, double Greedy)> epochs, double tolerance)
    {
        EvaluationMetrics? kept = null;
        double? lowest = null;
        var keptEpoch = -1;
        for (var epoch = 0; epoch < epochs.Count; epoch++)
        {
            var candidate = Metrics(epochs[epoch].Nll, epochs[epoch].Greedy);
            if (KeptEpochChoice.Replaces(kept, lowest, candidate, tolerance))
            {
                (kept, keptEpoch) = (candidate, epoch);
            }
            lowest = KeptEpochChoice.LowestNll(lowest, candidate);
        }
        return keptEpoch;
    }

    private static EvaluationMetrics Metrics(double nll, double greedy) =>
        new(nll, Math.Exp(nll), nll, 0, 0, greedy, 1, 1, 1);
}
