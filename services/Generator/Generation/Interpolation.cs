using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Sampling;

namespace LlmMesh.Generator.Generation;

/// <summary>A validated interpolation: the path's ends (texts or codes), its points and how each point is decoded.</summary>
public sealed record Interpolation(
    string Start, string End, float[]? StartLatent, float[]? EndLatent, int Steps, InterpolationMethod Method, GenerationRequest Generation)
{
    public const int DefaultSteps = 8;

    /// <summary>Throws ArgumentException naming the first bad field; points decode greedily unless the request sets a temperature.</summary>
    public static Interpolation From(InterpolateRequest request, GeneratorOptions options, RecommendedSampling defaults)
    {
        var texts = request.Start.Length > 0 || request.End.Length > 0;
        var codes = request.StartLatent.Count > 0 || request.EndLatent.Count > 0;
        if (texts == codes || (texts && (string.IsNullOrWhiteSpace(request.Start) || string.IsNullOrWhiteSpace(request.End)))
            || (codes && (request.StartLatent.Count == 0 || request.EndLatent.Count == 0)))
        {
            throw new ArgumentException("set start and end (texts), or start_latent and end_latent (codes)");
        }
        foreach (var (text, field) in new[] { (request.Start, "start"), (request.End, "end") })
        {
            var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
            if (bytes > options.MaxPromptBytes)
            {
                throw new ArgumentException($"{field}: {bytes} bytes exceed the limit of {options.MaxPromptBytes} bytes (Generator:MaxPromptBytes)");
            }
        }
        if (codes)
        {
            LatentCodes.RequireFinite(request.StartLatent, "start_latent");
            LatentCodes.RequireFinite(request.EndLatent, "end_latent");
        }
        var steps = request.Steps == 0 ? DefaultSteps : request.Steps;
        if (steps is < LatentPath.MinSteps or > LatentPath.MaxSteps)
        {
            throw new ArgumentException($"steps must be between {LatentPath.MinSteps} and {LatentPath.MaxSteps}, not {steps}");
        }
        // A path's points are codes of their own: decoded as they are, with no language model mixed in.
        var decoding = new GenerateRequest { Temperature = request.HasTemperature ? request.Temperature : 0, Model = request.Model, LmWeight = 0 };
        if (request.HasMaxTokens)
        {
            decoding.MaxTokens = request.MaxTokens;
        }
        if (request.HasSeed)
        {
            decoding.Seed = request.Seed;
        }
        return new Interpolation(request.Start, request.End, codes ? [.. request.StartLatent] : null, codes ? [.. request.EndLatent] : null,
            steps, LatentPath.ParseMethod(request.Method), GenerationRequest.From(decoding, options, defaults));
    }
}
