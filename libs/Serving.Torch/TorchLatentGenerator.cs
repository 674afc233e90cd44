using LlmMesh.Model;
using LlmMesh.Serving.Batching;
using TorchSharp;

namespace LlmMesh.Serving.Torch;

/// <summary>The bundle's latent generator on TorchSharp.</summary>
public sealed class TorchLatentGenerator(LatentGenerator generator) : ILatentCodeGenerator
{
    public int NoiseSize => generator.Config.NoiseSize;

    public float[] Generate(float[] noise)
    {
        using var inference = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        generator.eval();
        return generator.call(torch.tensor(noise).reshape(1, noise.Length)).data<float>().ToArray();
    }

    public void Dispose() => generator.Dispose();
}
