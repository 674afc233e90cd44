namespace LlmMesh.Model.Tests;

/// <summary>Best-of sampling in process: the trainer's and scripts/eval.sh's version of the generator's best_of.</summary>
public sealed class BestOfRerankingTests : IDisposable
{
    private static readonly LatentGanConfig Gan = new() { LatentSize = TinyData.Config.LatentSize, NoiseSize = 4, HiddenSize = 8 };
    private readonly SentenceVae _vae = new(TinyData.Config);
    private readonly LatentGenerator _generator = new(Gan);
    private readonly BestOfReranking _reranking;

    public BestOfRerankingTests()
    {
        // Untrained networks score arbitrarily but deterministically: what is tested is the selection.
        _reranking = new BestOfReranking(_vae, new LatentCritic(Gan), new TextDiscriminator(new TextDiscriminatorConfig { VocabularySize = TinyData.VocabularySize }),
            new DiscriminatorCalibration(new LogisticCalibration([1.0], 0), new LogisticCalibration([0.5, 1.0], 0.1)));
    }

    public void Dispose()
    {
        _vae.Dispose();
        _generator.Dispose();
    }

    [Fact]
    public void Each_sample_is_the_most_probable_of_its_candidates()
    {
        var options = new GenerationEvaluationOptions { Samples = 40, MaxTokens = 10, Seed = 5, BestOf = 3 };
        var best = GenerationEvaluation.SampleBestOf(_vae, _generator, _reranking, options);
        var candidates = Enumerable.Range(0, 3)
            .Select(c => GenerationEvaluation.Sample(_vae, _generator, options with { Seed = c == 0 ? 5 : Seeds.Derive(5, SeedStream.Samples, index: c) }))
            .ToArray();
        var probabilities = candidates.Select(_reranking.Probabilities).ToArray();
        var chosen = _reranking.Probabilities(best);

        Assert.Equal(40, best.Count);
        for (var i = 0; i < best.Count; i++)
        {
            Assert.Contains(candidates, pool => pool[i].SequenceEqual(best[i]));
            Assert.Equal(probabilities.Max(p => p[i]), chosen[i], 6); // batched differently: float rounding
        }
        Assert.True(chosen.Average() > probabilities[0].Average(), "reranking raised the mean probability over the first candidates");
        Assert.Contains(Enumerable.Range(0, best.Count), i => !best[i].SequenceEqual(candidates[0][i]));

        // Best of 1 is plain sampling, sample for sample.
        Assert.Equal(candidates[0], GenerationEvaluation.SampleBestOf(_vae, _generator, _reranking, options with { BestOf = 1 }));
    }

    [Fact]
    public void An_empty_candidate_ranks_below_any_with_text_and_best_of_is_bounded()
    {
        var probabilities = _reranking.Probabilities([[], [5, 6, 7]]);
        Assert.Equal(-1, probabilities[0]);
        Assert.InRange(probabilities[1], 0, 1);
        Assert.Equal([5, 6, 7], _reranking.Best([[[]], [[5, 6, 7]]]).Single());

        Assert.Contains("best-of", Assert.Throws<ArgumentException>(() => new GenerationEvaluationOptions { BestOf = 17 }.Validate()).Message);
        Assert.Contains("best-of", Assert.Throws<ArgumentException>(() => new GenerationEvaluationOptions { BestOf = 0 }.Validate()).Message);
    }
}
