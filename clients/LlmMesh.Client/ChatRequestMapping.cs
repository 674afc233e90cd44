using System.Globalization;
using System.Text.Json;
using LlmMesh.Contracts.V1;
using Microsoft.Extensions.AI;

namespace LlmMesh.Client;

/// <summary>
/// Maps Microsoft.Extensions.AI chat requests onto <see cref="GenerateRequest"/>. The model writes
/// "text related to this text": the prompt is the last user message (no user message =
/// unconditioned). Temperature, top-p, top-k, max output tokens, stop sequences and seed map
/// one to one; the mesh's own controls come from <see cref="ChatOptions.AdditionalProperties"/>
/// under their contract names (min_p, repetition_penalty, variation, best_of, ignore_eos,
/// latent_source). Options the model has no notion of (penalties, response formats) are ignored,
/// as other IChatClients do; tools are refused because the model cannot call them.
/// </summary>
public static class ChatRequestMapping
{
    public static GenerateRequest ToGenerateRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var request = new GenerateRequest { Prompt = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "" };
        if (options is null)
        {
            return request;
        }
        if (options.Tools is { Count: > 0 })
        {
            throw new NotSupportedException("LlmMesh models cannot call tools");
        }
        if (options.Seed is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Seed, "ChatOptions.Seed must not be negative");
        }
        request.WithSampling(options.MaxOutputTokens, options.Temperature, options.TopP, options.TopK, seed: (ulong?)options.Seed);
        if (options.StopSequences is { } stop)
        {
            request.Stop.Add(stop);
        }
        if (options.AdditionalProperties is { } extra)
        {
            ApplyExtensions(request, extra);
        }
        return request;
    }

    public static ChatFinishReason? ToFinishReason(string finishReason) => finishReason switch
    {
        "eos" or "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        _ => null,
    };

    public static UsageDetails ToUsage(Usage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
    };

    private static void ApplyExtensions(GenerateRequest request, AdditionalPropertiesDictionary extra)
    {
        request.WithSampling(
            minP: Optional(extra, "min_p"),
            repetitionPenalty: Optional(extra, "repetition_penalty"),
            variation: Optional(extra, "variation"));
        if (extra.TryGetValue("best_of", out var bestOf))
        {
            request.BestOf = checked((int)Number(bestOf, "best_of"));
        }
        if (extra.TryGetValue("ignore_eos", out var ignoreEos))
        {
            request.IgnoreEos = ignoreEos switch
            {
                bool b => b,
                JsonElement { ValueKind: JsonValueKind.True or JsonValueKind.False } json => json.GetBoolean(),
                _ => throw new ArgumentException("ignore_eos must be a boolean"),
            };
        }
        if (extra.TryGetValue("latent_source", out var source))
        {
            request.LatentSource = ParseLatentSource(source?.ToString());
        }
    }

    /// <summary>"prior" or "generator" (case-insensitive); empty = the default.</summary>
    public static LatentSource ParseLatentSource(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => LatentSource.Unspecified,
        "prior" => LatentSource.Prior,
        "generator" => LatentSource.Generator,
        _ => throw new ArgumentException($"latent_source must be \"prior\" or \"generator\", not \"{value}\""),
    };

    private static double? Optional(AdditionalPropertiesDictionary extra, string name) =>
        extra.TryGetValue(name, out var value) ? Number(value, name) : null;

    private static double Number(object? value, string name) => value switch
    {
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        decimal m => (double)m,
        JsonElement { ValueKind: JsonValueKind.Number } json => json.GetDouble(),
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new ArgumentException($"{name} must be a number"),
    };
}
