namespace LlmMesh.Serving.Batching;

/// <summary>A backend's latent generator of an ARAE bundle: noise drawn in C# in, a latent code out.</summary>
public interface ILatentCodeGenerator : IDisposable
{
    int NoiseSize { get; }

    float[] Generate(float[] noise);
}
