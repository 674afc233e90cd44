using LlmMesh.Serving.Hosting;

namespace LlmMesh.Serving.Sampling;

/// <summary>Checks of a latent code a client sends (GenerateRequest.latent, Interpolate's ends, Nearest's query).</summary>
public static class LatentCodes
{
    /// <summary>Throws ArgumentException naming the first value that is not a finite number.</summary>
    public static void RequireFinite(IReadOnlyList<float> code, string field)
    {
        for (var i = 0; i < code.Count; i++)
        {
            if (!float.IsFinite(code[i]))
            {
                throw new ArgumentException($"{field}[{i}] is {code[i]}, not a finite number");
            }
        }
    }

    /// <summary>The code, refused unless it has the loaded model's latent size.</summary>
    public static float[] RequireSize(float[] code, int latentSize, LoadedModel model, string field) =>
        code.Length == latentSize ? code
            : throw new ArgumentException(
                $"{field} has {code.Length} values; model {model.Model} ({model.Version}) has codes of {latentSize} (GetModelInfo.latent_size)");
}
