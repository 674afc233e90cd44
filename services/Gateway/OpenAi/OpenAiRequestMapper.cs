using System.Text.Json;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Gateway.OpenAi;

/// <summary>
/// Turns OpenAI requests into the Generate requests of their choices (prompt-major: choice i is
/// prompt i / n). Sampling values pass through unchanged, so the generator's validation speaks for
/// them; here only what the generator cannot see is checked: the OpenAI shapes and features the
/// model does not have. With a seed and n > 1, choice j of a prompt uses seed + j.
/// </summary>
public static class OpenAiRequestMapper
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static IReadOnlyList<GenerateRequest> ForCompletion(CompletionRequest request, int maxChoices)
    {
        if (!string.IsNullOrEmpty(request.Suffix))
        {
            throw OpenAiException.InvalidRequest("suffix is not supported: the model writes text related to a prompt, it does not insert", "suffix");
        }
        if (IsSet(request.Logprobs))
        {
            throw OpenAiException.InvalidRequest("logprobs are not supported", "logprobs");
        }
        return Expand(request, Prompts(request.Prompt), request.MaxTokens, maxChoices);
    }

    public static IReadOnlyList<GenerateRequest> ForChat(ChatCompletionRequest request, int maxChoices)
    {
        if (request.Messages is not { Count: > 0 } messages)
        {
            throw OpenAiException.InvalidRequest("messages must be a non-empty array", "messages");
        }
        if (request.Tools.ValueKind == JsonValueKind.Array && request.Tools.GetArrayLength() > 0)
        {
            throw OpenAiException.InvalidRequest("tools are not supported: the model cannot call them", "tools");
        }
        if (request.Logprobs == true)
        {
            throw OpenAiException.InvalidRequest("logprobs are not supported", "logprobs");
        }
        if (IsSet(request.ResponseFormat)
            && !(request.ResponseFormat.ValueKind == JsonValueKind.Object
                 && request.ResponseFormat.TryGetProperty("type", out var format) && format.ValueEquals("text")))
        {
            throw OpenAiException.InvalidRequest("only the \"text\" response_format is supported", "response_format");
        }
        var prompt = "";
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i].Role;
            if (role is null || !Roles.Contains(role))
            {
                throw OpenAiException.InvalidRequest($"messages[{i}].role must be one of {string.Join(", ", Roles)}, not '{role}'", $"messages[{i}].role");
            }
            var text = MessageText(messages[i].Content, i);
            if (role == "user")
            {
                prompt = text;
            }
        }
        return Expand(request, [prompt], request.MaxCompletionTokens ?? request.MaxTokens, maxChoices);
    }

    private static List<GenerateRequest> Expand(SamplingRequest request, IReadOnlyList<string> prompts, int? maxTokens, int maxChoices)
    {
        var n = request.N ?? 1;
        if (n < 1 || n * prompts.Count > maxChoices)
        {
            throw OpenAiException.InvalidRequest(
                $"n must be at least 1, and prompts x n at most {maxChoices} (Gateway:MaxChoices); got n = {n} with {prompts.Count} prompt(s)", "n");
        }
        RejectPenalty(request.PresencePenalty, "presence_penalty");
        RejectPenalty(request.FrequencyPenalty, "frequency_penalty");
        if (request.Seed is < 0)
        {
            throw OpenAiException.InvalidRequest($"seed must not be negative, not {request.Seed}", "seed");
        }
        var template = new GenerateRequest { Stop = { StopStrings(request.Stop) }, IgnoreEos = request.IgnoreEos ?? false, BestOf = request.BestOf ?? 0 };
        // -1 turns top-k off in vLLM's API.
        template.WithSampling(maxTokens, request.Temperature, request.TopP, request.TopK == -1 ? 0 : request.TopK,
            request.MinP, request.RepetitionPenalty, request.Variation, latentTemperature: request.LatentTemperature, lmWeight: request.LmWeight);
        try
        {
            template.LatentSource = ChatRequestMapping.ParseLatentSource(request.LatentSource);
        }
        catch (ArgumentException ex)
        {
            throw OpenAiException.InvalidRequest(ex.Message, "latent_source");
        }
        var choices = new List<GenerateRequest>(prompts.Count * n);
        foreach (var prompt in prompts)
        {
            for (var j = 0; j < n; j++)
            {
                var choice = template.Clone();
                choice.Prompt = prompt;
                if (request.Seed is { } seed)
                {
                    choice.Seed = unchecked((ulong)seed + (ulong)j);
                }
                choices.Add(choice);
            }
        }
        return choices;
    }

    private static List<string> Prompts(JsonElement prompt) => prompt.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => [""],
        JsonValueKind.String => [prompt.GetString()!],
        JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) =>
            prompt.EnumerateArray().Select(p => p.GetString()!).ToList(),
        JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(p => p.ValueKind is JsonValueKind.Number or JsonValueKind.Array) =>
            throw OpenAiException.InvalidRequest("token-id prompts are not supported: send text", "prompt"),
        _ => throw OpenAiException.InvalidRequest("prompt must be a string or a non-empty array of strings", "prompt"),
    };

    private static List<string> StopStrings(JsonElement stop) => stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => [],
        JsonValueKind.String => [stop.GetString()!],
        JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
            stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
        _ => throw OpenAiException.InvalidRequest("stop must be a string or an array of strings", "stop"),
    };

    private static string MessageText(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return "";
            case JsonValueKind.Array:
                var parts = new List<string>();
                foreach (var part in content.EnumerateArray())
                {
                    var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) ? t.ToString() : "";
                    if (type != "text" || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        throw OpenAiException.InvalidRequest(
                            $"messages[{index}].content: only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported, not '{type}'", $"messages[{index}].content");
                    }
                    parts.Add(text.GetString()!);
                }
                return string.Join("\n", parts);
            default:
                throw OpenAiException.InvalidRequest($"messages[{index}].content must be a string or an array of text parts", $"messages[{index}].content");
        }
    }

    private static void RejectPenalty(double? value, string name)
    {
        if (value is { } penalty && penalty != 0)
        {
            throw OpenAiException.InvalidRequest($"{name} is not supported; use repetition_penalty", name);
        }
    }

    private static bool IsSet(JsonElement value) => value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
}
