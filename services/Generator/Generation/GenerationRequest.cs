using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Sampling;

namespace LlmMesh.Generator.Generation;

/// <summary>A validated generation request with defaults applied.</summary>
public sealed record GenerationRequest(
    string Prompt,
    double Variation,
    int MaxTokens,
    SamplingParameters Sampling,
    ulong Seed,
    IReadOnlyList<string> Stop,
    bool IgnoreEos,
    LatentSource LatentSource = LatentSource.Unspecified,
    int BestOf = 1,
    double LatentTemperature = 1,
    float[]? Latent = null,
    bool BestOfFromModel = false,
    double LmWeight = 0)
{
    public const int MaxStopStrings = 4;
    public const int MaxBestOf = 16;
    public const int MaxStopLength = 256;

    /// <summary>
    /// Throws ArgumentException naming the first bad field. Temperature, top-p, min-p, the latent
    /// temperature and best_of that the request leaves unset come from <paramref name="defaults"/>
    /// (the model's recommendation).
    /// </summary>
    public static GenerationRequest From(GenerateRequest request, GeneratorOptions options, RecommendedSampling defaults)
    {
        var promptBytes = System.Text.Encoding.UTF8.GetByteCount(request.Prompt);
        if (promptBytes > options.MaxPromptBytes)
        {
            throw new ArgumentException($"prompt: {promptBytes} bytes exceed the limit of {options.MaxPromptBytes} bytes (Generator:MaxPromptBytes)");
        }
        var variation = request.HasVariation ? request.Variation : 1.0;
        if (!double.IsFinite(variation) || variation < 0)
        {
            throw new ArgumentException($"variation must be a finite number >= 0, not {variation}");
        }
        var maxTokens = request.HasMaxTokens ? request.MaxTokens : Math.Min(options.DefaultMaxTokens, options.MaxTokens);
        if (maxTokens < 1 || maxTokens > options.MaxTokens)
        {
            throw new ArgumentException($"max_tokens must be between 1 and {options.MaxTokens} (Generator:MaxTokens), not {maxTokens}");
        }
        if (request.Stop.Count > MaxStopStrings)
        {
            throw new ArgumentException($"stop: {request.Stop.Count} stop strings exceed the limit of {MaxStopStrings}");
        }
        for (var i = 0; i < request.Stop.Count; i++)
        {
            if (request.Stop[i].Length is 0 or > MaxStopLength)
            {
                throw new ArgumentException($"stop[{i}] must have 1 to {MaxStopLength} characters");
            }
        }
        var sampling = new SamplingParameters
        {
            Temperature = request.HasTemperature ? request.Temperature : defaults.Temperature,
            TopK = request.HasTopK ? request.TopK : 0,
            TopP = request.HasTopP ? request.TopP : defaults.TopP,
            MinP = request.HasMinP ? request.MinP : defaults.MinP,
            RepetitionPenalty = request.HasRepetitionPenalty ? request.RepetitionPenalty : 1.0,
        };
        sampling.Validate();
        if (request.BestOf is < 0 or > MaxBestOf)
        {
            throw new ArgumentException($"best_of must be between 0 and {MaxBestOf}, not {request.BestOf}");
        }
        var latentTemperature = request.HasLatentTemperature ? request.LatentTemperature : defaults.LatentTemperature;
        if (!double.IsFinite(latentTemperature) || latentTemperature is <= 0 or > 10)
        {
            throw new ArgumentException($"latent_temperature must be in (0, 10], not {latentTemperature}");
        }
        if (!Enum.IsDefined(request.LatentSource))
        {
            throw new ArgumentException($"latent_source {(int)request.LatentSource} is not a known value");
        }
        var bestOf = ResolveBestOf(request, defaults);
        return new GenerationRequest(request.Prompt, variation, maxTokens, sampling,
            request.HasSeed ? request.Seed : SplitMixRandom.NewSeed(), [.. request.Stop], request.IgnoreEos,
            request.LatentSource, bestOf, latentTemperature, ClientLatent(request), BestOfFromModel: request.BestOf == 0 && bestOf > 1,
            LmWeight: ResolveLmWeight(request, defaults));
    }

    /// <summary>
    /// The request's best_of; unset, the model's recommendation for an unconditioned request (where
    /// the trainer chose and measured it), off for a prompt or a latent of the client's.
    /// </summary>
    private static int ResolveBestOf(GenerateRequest request, RecommendedSampling defaults) => request.BestOf switch
    {
        > 0 => request.BestOf,
        _ when request.Prompt.Length > 0 || request.Latent.Count > 0 => 1,
        _ => defaults.BestOf,
    };

    /// <summary>
    /// The request's language-model weight; unset, the model's recommendation for an unconditioned
    /// request (where the trainer chose and measured it), off for a prompt or a latent of the client's.
    /// </summary>
    private static double ResolveLmWeight(GenerateRequest request, RecommendedSampling defaults)
    {
        if (!request.HasLmWeight)
        {
            return request.Prompt.Length > 0 || request.Latent.Count > 0 ? 0 : defaults.LmWeight;
        }
        return double.IsFinite(request.LmWeight) && request.LmWeight is >= 0 and <= 1
            ? request.LmWeight
            : throw new ArgumentException($"lm_weight must be in [0, 1], not {request.LmWeight}");
    }

    /// <summary>The request's own code, all finite and not beside a prompt (its size is the model's to check).</summary>
    private static float[]? ClientLatent(GenerateRequest request)
    {
        if (request.Latent.Count == 0)
        {
            return null;
        }
        if (request.Prompt.Length > 0)
        {
            throw new ArgumentException("latent: set a prompt or a latent code, not both");
        }
        LatentCodes.RequireFinite(request.Latent, "latent");
        return [.. request.Latent];
    }
}
