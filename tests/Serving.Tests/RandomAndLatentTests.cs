using LlmMesh.Serving.Sampling;

namespace LlmMesh.Serving.Tests;

public sealed class RandomAndLatentTests
{
    [Fact]
    public void SplitMix_is_reproducible_and_uniform_in_the_unit_interval()
    {
        var a = new SplitMixRandom(42);
        var b = new SplitMixRandom(42);
        var draws = Enumerable.Range(0, 10_000).Select(_ => a.NextDouble()).ToArray();

        Assert.Equal(draws, Enumerable.Range(0, 10_000).Select(_ => b.NextDouble()));
        Assert.All(draws, d => Assert.InRange(d, 0.0, 0.999999999999));
        Assert.InRange(draws.Average(), 0.49, 0.51);
        // SplitMix64's published first output for seed 0.
        Assert.Equal(0xE220A8397B1DCDAFUL, new SplitMixRandom(0).NextUInt64());
    }

    [Fact]
    public void Gaussian_draws_have_zero_mean_and_unit_variance()
    {
        var random = new SplitMixRandom(7);
        var draws = Enumerable.Range(0, 50_000).Select(_ => random.NextGaussian()).ToArray();
        var mean = draws.Average();
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(draws.Average(d => (d - mean) * (d - mean)), 0.97, 1.03);
    }

    [Fact]
    public void Variation_interpolates_between_the_mean_and_the_sample()
    {
        float[] mu = [1f, -2f];
        float[] z = [3f, 2f];

        Assert.Equal(mu, LatentSampler.Vary(mu, z, 0));
        Assert.Equal(z, LatentSampler.Vary(mu, z, 1));
        Assert.Equal([5f, 6f], LatentSampler.Vary(mu, z, 2));
    }

    [Fact]
    public void Posterior_samples_scale_with_the_standard_deviation()
    {
        var random = new SplitMixRandom(3);
        var samples = Enumerable.Range(0, 20_000).Select(_ => LatentSampler.Posterior([5f], [MathF.Log(4f)], random)[0]).ToArray();
        Assert.InRange(samples.Average(), 4.95, 5.05);
        Assert.InRange(Math.Sqrt(samples.Average(s => (s - 5.0) * (s - 5.0))), 1.95, 2.05);
    }
}
