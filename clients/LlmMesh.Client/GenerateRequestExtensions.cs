using LlmMesh.Contracts.V1;

namespace LlmMesh.Client;

public static class GenerateRequestExtensions
{
    /// <summary>
    /// Sets the sampling controls that have a value and leaves the others unset, so the
    /// generator's defaults apply to them. Returns the request.
    /// </summary>
    public static GenerateRequest WithSampling(
        this GenerateRequest request,
        int? maxTokens = null,
        double? temperature = null,
        double? topP = null,
        int? topK = null,
        double? minP = null,
        double? repetitionPenalty = null,
        double? variation = null,
        ulong? seed = null,
        double? latentTemperature = null,
        double? lmWeight = null)
    {
        if (maxTokens is { } max) request.MaxTokens = max;
        if (temperature is { } t) request.Temperature = t;
        if (topP is { } p) request.TopP = p;
        if (topK is { } k) request.TopK = k;
        if (minP is { } m) request.MinP = m;
        if (repetitionPenalty is { } r) request.RepetitionPenalty = r;
        if (variation is { } v) request.Variation = v;
        if (seed is { } s) request.Seed = s;
        if (latentTemperature is { } l) request.LatentTemperature = l;
        if (lmWeight is { } w) request.LmWeight = w;
        return request;
    }
}
