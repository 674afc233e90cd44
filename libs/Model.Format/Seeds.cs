namespace LlmMesh.Model;

/// <summary>
/// The independent random streams drawn from one seed. The numbers are part of reproducibility:
/// changing one changes every run, bundle and figure that used it.
/// </summary>
public enum SeedStream
{
    /// <summary>The VAE's initial weights.</summary>
    VaeWeights = 0,
    /// <summary>The order of training batches, per epoch.</summary>
    BatchOrder = 1,
    /// <summary>A VAE training step's posterior samples, word and weight dropout, per step.</summary>
    VaeStep = 2,
    /// <summary>Posterior samples when the VAE is evaluated.</summary>
    VaeEvaluation = 3,
    /// <summary>Which captions are held out.</summary>
    HeldOutSplit = 4,
    /// <summary>The latent GAN's initial weights.</summary>
    GanWeights = 10,
    /// <summary>A GAN step's noise and real-code batch, per step.</summary>
    GanStep = 11,
    /// <summary>The fluency discriminator's initial weights.</summary>
    TextDiscriminatorWeights = 20,
    /// <summary>Noise and codes drawn to evaluate the latent GAN and fit the calibration.</summary>
    AdversarialEvaluation = 30,
    /// <summary>Which tokens are swapped in corrupted negatives.</summary>
    CorruptedNegatives = 31,
    /// <summary>The corpus order before tokenization.</summary>
    CorpusShuffle = 40,
    /// <summary>Evaluation samples, and the candidates of a best_of request (candidate i at index i).</summary>
    Samples = 50,
    /// <summary>Prompt-conditioned samples of the held-out evaluation.</summary>
    PromptSamples = 51,
}

/// <summary>Deterministic seed derivation (SplitMix64): the same inputs give the same seed in every process.</summary>
public static class Seeds
{
    public static long Derive(long seed, SeedStream stream, long index)
    {
        var x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream * 0xBF58476D1CE4E5B9UL ^ (ulong)index * 0x94D049BB133111EBUL);
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return (long)((x ^ (x >> 31)) >> 1);
    }

    public static int DeriveInt(long seed, SeedStream stream, long index) => (int)(Derive(seed, stream, index) & int.MaxValue);
}
