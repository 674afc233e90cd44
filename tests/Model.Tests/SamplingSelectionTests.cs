using LlmMesh.Evaluation;
using LlmMesh.ModelStore;

namespace LlmMesh.Model.Tests;

public sealed class SamplingSelectionTests
{
    [Fact]
    public void Each_truncation_gets_the_lowest_temperature_diverse_enough_and_the_best_quality_there_wins()
    {
        // Plain: Self-BLEU-4 reaches .59 at T = 1.02, BLEU-4 .341 there; min-p: at T = 1.22, BLEU-4 .372 there.
        var choice = SamplingSelection.Choose(s => s.MinP > 0
            ? Report(bleu4: 0.86 - 0.4 * s.Temperature, selfBleu4: 1.2 - 0.5 * s.Temperature)
            : Report(bleu4: 0.8 - 0.45 * s.Temperature, selfBleu4: 1.1 - 0.5 * s.Temperature), Families);

        Assert.Equal(0.05, choice.Chosen.Sampling.MinP);
        Assert.InRange(choice.Chosen.Sampling.Temperature, 1.22, 1.231);
        Assert.True(SamplingSelection.Admissible(choice.Chosen));
        var plain = choice.Trials.Where(t => t.Sampling.MinP == 0).ToArray();
        Assert.InRange(plain.Where(SamplingSelection.Admissible).Min(t => t.Sampling.Temperature), 1.02, 1.031);
        Assert.InRange(choice.Trials.Count, 4, 10);
        Assert.Equal(choice.Trials.Count, choice.Trials.Select(t => t.Sampling).Distinct().Count());
    }

    [Fact]
    public void A_setting_that_copies_too_much_training_text_is_not_chosen()
    {
        var choice = SamplingSelection.Choose(s => s.MinP > 0
            ? Report(bleu4: 0.86 - 0.4 * s.Temperature, selfBleu4: 1.2 - 0.5 * s.Temperature, copies: 0.05)
            : Report(bleu4: 0.8 - 0.45 * s.Temperature, selfBleu4: 1.1 - 0.5 * s.Temperature), Families);
        Assert.Equal(0, choice.Chosen.Sampling.MinP);
        Assert.InRange(choice.Chosen.Sampling.Temperature, 1.02, 1.031);
    }

    [Fact]
    public void When_nothing_is_diverse_enough_the_most_diverse_setting_tried_is_chosen()
    {
        var choice = SamplingSelection.Choose(s => Report(bleu4: 0.5, selfBleu4: 0.95 - 0.1 * s.Temperature - (s.MinP > 0 ? 0 : 0.01)), Families);
        Assert.Equal(SamplingSelection.MaxTemperature, choice.Chosen.Sampling.Temperature);
        Assert.Equal(0, choice.Chosen.Sampling.MinP);
        Assert.False(SamplingSelection.Admissible(choice.Chosen));
    }

    private static readonly RecommendedSampling[] Families = [RecommendedSampling.Plain, new() { MinP = 0.05 }];

    private static TextEvaluationReport Report(double bleu4, double selfBleu4, double copies = 0.01) =>
        new(10_000, 1000, new BleuScores(0.8, 0.6, bleu4, 0.2), new BleuScores(0.9, 0.75, selfBleu4, 0.4), 10_000, copies,
            30, 40, 0.05, 0.3, 11, 0.02);
}
