namespace LlmMesh.Serving.Sampling;

/// <summary>
/// A small deterministic random source (SplitMix64) for sampling: the same seed gives the same
/// draws on every machine and runtime, so a seed reproduces a generation.
/// </summary>
public sealed class SplitMixRandom(ulong seed)
{
    private ulong _state = seed;
    private double? _spareGaussian;

    public ulong NextUInt64()
    {
        var z = unchecked(_state += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        if (_spareGaussian is { } spare)
        {
            _spareGaussian = null;
            return spare;
        }
        var u1 = 1.0 - NextDouble(); // (0, 1]
        var u2 = NextDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareGaussian = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A seed for a request that did not give one.</summary>
    public static ulong NewSeed() => (ulong)Random.Shared.NextInt64(1, long.MaxValue);
}
