namespace LlmMesh.Model;

/// <summary>The architecture of a sentence VAE; stored in every bundle.</summary>
public sealed record VaeConfig
{
    public required int VocabularySize { get; init; }
    public int EmbeddingSize { get; init; } = 128;
    public int HiddenSize { get; init; } = 256;
    public int LatentSize { get; init; } = 32;
    public int PadId { get; init; } = 0;
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;
    public int UnkId { get; init; } = 3;
    /// <summary>False: a plain language model (the baseline) — no encoder pass, and the decoder sees z = 0.</summary>
    public bool UsesLatent { get; init; } = true;
    /// <summary>Dropout on the token embeddings (encoder and decoder) and on the decoder's states before the output layer, while training.</summary>
    public double Dropout { get; init; }
    /// <summary>
    /// True: the output layer reuses the token embeddings (Press and Wolf 2017) after a projection
    /// of the decoder state to the embedding size; fewer parameters, better held-out perplexity.
    /// </summary>
    public bool TieEmbeddings { get; init; }
    /// <summary>
    /// True: the code also feeds the output layer (a skip connection, Dieng et al. 2019), so every
    /// next-token distribution sees z directly, not only through the GRU state.
    /// </summary>
    public bool LatentToOutput { get; init; }

    public void Validate()
    {
        Require(VocabularySize > Math.Max(Math.Max(PadId, BosId), Math.Max(EosId, UnkId)), "vocabulary_size");
        Require(EmbeddingSize is > 0 and <= 4096, "embedding_size");
        Require(HiddenSize is > 0 and <= 8192, "hidden_size");
        Require(LatentSize is > 0 and <= 1024, "latent_size");
        Require(double.IsFinite(Dropout) && Dropout is >= 0 and < 1, "dropout");
        Require(UsesLatent || !LatentToOutput, "latent_to_output");
    }

    private static void Require(bool valid, string field)
    {
        if (!valid)
        {
            throw new ArgumentException($"{field} is out of range");
        }
    }
}

/// <summary>The latent GAN of an ARAE-style model (generator and critic sizes); stored in bundles.</summary>
public sealed record LatentGanConfig
{
    public required int LatentSize { get; init; }
    public int NoiseSize { get; init; } = 32;
    public int HiddenSize { get; init; } = 256;

    public void Validate()
    {
        if (LatentSize is <= 0 or > 1024 || NoiseSize is <= 0 or > 1024 || HiddenSize is <= 0 or > 8192)
        {
            throw new ArgumentException("latent GAN sizes are out of range");
        }
    }
}

/// <summary>The fluency discriminator's sizes; stored in ARAE bundles.</summary>
public sealed record TextDiscriminatorConfig
{
    public required int VocabularySize { get; init; }
    public int EmbeddingSize { get; init; } = 64;
    public int HiddenSize { get; init; } = 128;
    public int PadId { get; init; }
}
