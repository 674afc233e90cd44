namespace LlmMesh.Serving.Sampling;

/// <summary>Latent codes drawn in C# (not by a backend), so any inference backend gives the same z for a seed.</summary>
public static class LatentSampler
{
    /// <summary>z ~ N(0, temperature^2 I): below 1, draws keep to the typical part of the space.</summary>
    public static float[] Prior(int size, SplitMixRandom random, double temperature = 1)
    {
        var z = new float[size];
        for (var i = 0; i < size; i++)
        {
            z[i] = (float)(temperature * random.NextGaussian());
        }
        return z;
    }

    /// <summary>z = mu + exp(logvar / 2) * eps, eps ~ N(0, I).</summary>
    public static float[] Posterior(ReadOnlySpan<float> mu, ReadOnlySpan<float> logVar, SplitMixRandom random)
    {
        var z = new float[mu.Length];
        for (var i = 0; i < mu.Length; i++)
        {
            z[i] = mu[i] + MathF.Exp(0.5f * logVar[i]) * (float)random.NextGaussian();
        }
        return z;
    }

    /// <summary>mu + variation * (z - mu): 0 gives mu, 1 gives z.</summary>
    public static float[] Vary(ReadOnlySpan<float> mu, ReadOnlySpan<float> z, double variation)
    {
        var result = new float[mu.Length];
        for (var i = 0; i < mu.Length; i++)
        {
            result[i] = (float)(mu[i] + variation * (z[i] - mu[i]));
        }
        return result;
    }
}
