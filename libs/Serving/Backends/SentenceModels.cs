namespace LlmMesh.Serving.Backends;

/// <summary>A backend's VAE encoder: token sequences (each non-empty) to posterior parameters.</summary>
public interface ISentenceEncoder : IDisposable
{
    int LatentSize { get; }

    (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences);
}

/// <summary>A backend's sentence classifier (the fluency discriminator): one logit per non-empty sentence.</summary>
public interface ISentenceClassifier : IDisposable
{
    double[] Score(IReadOnlyList<int[]> sentences);
}

/// <summary>A backend's latent critic: one score per code (higher = more like real codes).</summary>
public interface ILatentCritic : IDisposable
{
    int LatentSize { get; }

    double[] Score(IReadOnlyList<float[]> codes);
}
