using LlmMesh.Serving.Sampling;

namespace LlmMesh.Serving.Tests;

public sealed class TokenSamplerTests
{
    // Probabilities at temperature 1: softmax of these logits is about [0.64, 0.24, 0.09, 0.03].
    private static readonly float[] Logits = [3f, 2f, 1f, 0f];

    [Fact]
    public void The_product_of_experts_is_the_normalised_weighted_geometric_mean_of_their_distributions()
    {
        float[] decoder = [3f, 2f, 1f, 0f];
        float[] languageModel = [0f, 1f, 4f, 0.5f];
        var mixed = new float[4];
        ProductOfExperts.Mix(decoder, languageModel, 0.7, mixed);

        double[] Softmax(IEnumerable<float> logits) => logits.Select(l => Math.Exp(l)).ToArray() is var e ? e.Select(v => v / e.Sum()).ToArray() : [];
        var product = Softmax(decoder).Zip(Softmax(languageModel), (p, q) => Math.Pow(p, 0.3) * Math.Pow(q, 0.7)).ToArray();
        var expected = product.Select(v => v / product.Sum()).ToArray();
        Assert.Equal(expected, Softmax(mixed), new Tolerance(1e-6));
        // Log-probabilities: at weight 0 the decoder's own, normalised.
        ProductOfExperts.Mix(decoder, languageModel, 0, mixed);
        Assert.Equal(Softmax(decoder).Select(p => Math.Log(p)), mixed.Select(v => (double)v), new Tolerance(1e-6));

        Assert.Throws<ArgumentOutOfRangeException>(() => ProductOfExperts.Mix(decoder, languageModel, -0.1, mixed));
        Assert.Throws<ArgumentException>(() => ProductOfExperts.Mix(decoder, [1f], 0.5, mixed));
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double value) => 0;
    }

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        var sampler = new TokenSampler(new SamplingParameters { Temperature = 0 }, []);
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(0, sampler.Sample(Logits.ToArray(), [], new SplitMixRandom((ulong)i))));
    }

    [Fact]
    public void Draws_follow_the_softmax_distribution()
    {
        var counts = Histogram(new SamplingParameters(), draws: 40_000);
        var expected = Softmax(Logits);
        for (var i = 0; i < 4; i++)
        {
            Assert.InRange(counts[i] / 40_000.0, expected[i] - 0.01, expected[i] + 0.01);
        }
    }

    [Fact]
    public void Lower_temperature_sharpens_and_higher_flattens()
    {
        var cold = Histogram(new SamplingParameters { Temperature = 0.5 }, 20_000);
        var hot = Histogram(new SamplingParameters { Temperature = 2.0 }, 20_000);
        Assert.True(cold[0] > 0.85 * 20_000, $"cold top share {cold[0]}");
        Assert.True(hot[0] < 0.5 * 20_000 && hot[3] > 0.08 * 20_000, $"hot shares {string.Join(",", hot)}");
    }

    [Fact]
    public void Top_k_keeps_only_the_k_most_likely_tokens()
    {
        var counts = Histogram(new SamplingParameters { TopK = 2 }, 10_000);
        Assert.Equal(0, counts[2] + counts[3]);
        Assert.InRange(counts[0] / 10_000.0, 0.70, 0.76); // 0.64 / (0.64 + 0.24) = 0.73
    }

    [Fact]
    public void Top_p_keeps_the_smallest_nucleus_reaching_p()
    {
        // 0.64 < 0.8 so token 1 joins (0.88 >= 0.8); tokens 2 and 3 never appear.
        var counts = Histogram(new SamplingParameters { TopP = 0.8 }, 10_000);
        Assert.Equal(0, counts[2] + counts[3]);
        Assert.True(counts[1] > 1_500);
        Assert.Equal([10_000, 0, 0, 0], Histogram(new SamplingParameters { TopP = 0.5 }, 10_000));
    }

    [Fact]
    public void Min_p_drops_tokens_below_a_fraction_of_the_top_probability()
    {
        // 0.3 x 0.64 = 0.19: token 1 (0.24) stays, token 2 (0.09) goes.
        var counts = Histogram(new SamplingParameters { MinP = 0.3 }, 10_000);
        Assert.Equal(0, counts[2] + counts[3]);
        Assert.True(counts[1] > 2_000);
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_generated_tokens()
    {
        var greedy = new TokenSampler(new SamplingParameters { Temperature = 0, RepetitionPenalty = 2 }, []);

        Assert.Equal(1, greedy.Sample(new float[] { 3f, 2f, 1f }, [0], new SplitMixRandom(1))); // 3/2 < 2
        Assert.Equal(0, greedy.Sample(new float[] { 3f, 2f, 1f }, [2], new SplitMixRandom(1)));
        var logits = new float[] { -1f, -1.5f };
        Assert.Equal(1, greedy.Sample(logits, [0], new SplitMixRandom(1))); // -1 x 2 = -2 < -1.5
        Assert.Equal(-2f, logits[0]);
    }

    [Fact]
    public void Banned_tokens_are_never_drawn()
    {
        var sampler = new TokenSampler(new SamplingParameters { Temperature = 5 }, [0, 2]);
        for (var i = 0; i < 2_000; i++)
        {
            Assert.Contains(sampler.Sample(Logits.ToArray(), [], new SplitMixRandom((ulong)i)), new[] { 1, 3 });
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_tokens()
    {
        var sampler = new TokenSampler(new SamplingParameters { TopK = 3, TopP = 0.95 }, []);
        var a = new SplitMixRandom(77);
        var b = new SplitMixRandom(77);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(sampler.Sample(Logits.ToArray(), [], a), sampler.Sample(Logits.ToArray(), [], b)));
    }

    [Theory]
    [InlineData(-0.1, 0, 1.0, 0.0, 1.0, "temperature")]
    [InlineData(double.NaN, 0, 1.0, 0.0, 1.0, "temperature")]
    [InlineData(1.0, -1, 1.0, 0.0, 1.0, "top_k")]
    [InlineData(1.0, 0, 0.0, 0.0, 1.0, "top_p")]
    [InlineData(1.0, 0, 1.5, 0.0, 1.0, "top_p")]
    [InlineData(1.0, 0, 1.0, -0.5, 1.0, "min_p")]
    [InlineData(1.0, 0, 1.0, 0.0, 0.0, "repetition_penalty")]
    [InlineData(1.0, 0, 1.0, 0.0, double.PositiveInfinity, "repetition_penalty")]
    public void Invalid_parameters_are_refused_naming_the_field(double temperature, int topK, double topP, double minP, double penalty, string field)
    {
        var parameters = new SamplingParameters { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, RepetitionPenalty = penalty };
        Assert.StartsWith(field, Assert.Throws<ArgumentException>(parameters.Validate).Message);
    }

    private static int[] Histogram(SamplingParameters parameters, int draws)
    {
        var sampler = new TokenSampler(parameters, []);
        var random = new SplitMixRandom(12345);
        var counts = new int[Logits.Length];
        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Sample(Logits.ToArray(), [], random)]++;
        }
        return counts;
    }

    private static double[] Softmax(float[] logits)
    {
        var exp = logits.Select(l => Math.Exp(l)).ToArray();
        return exp.Select(e => e / exp.Sum()).ToArray();
    }
}
