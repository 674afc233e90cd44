using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmMesh.Gateway.OpenAi;

// The subset of the OpenAI API the gateway speaks (field names as OpenAI spells them), plus the
// vLLM-style sampling extensions top_k, min_p, repetition_penalty and ignore_eos and the mesh's
// own variation and latent_source.

/// <summary>What completions and chat completions share.</summary>
public abstract class SamplingRequest
{
    public string? Model { get; set; }
    public int? MaxTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? N { get; set; }
    public bool Stream { get; set; }
    public StreamOptions? StreamOptions { get; set; }
    /// <summary>A string or an array of strings.</summary>
    public JsonElement Stop { get; set; }
    public long? Seed { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public int? BestOf { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public double? RepetitionPenalty { get; set; }
    public bool? IgnoreEos { get; set; }
    public double? Variation { get; set; }
    public string? LatentSource { get; set; }
    public double? LatentTemperature { get; set; }
    /// <summary>Weight of the model's own plain language model mixed in (GenerateRequest.lm_weight).</summary>
    public double? LmWeight { get; set; }
}

public sealed class StreamOptions
{
    public bool IncludeUsage { get; set; }
}

public sealed class CompletionRequest : SamplingRequest
{
    /// <summary>A string or an array of strings.</summary>
    public JsonElement Prompt { get; set; }
    public bool Echo { get; set; }
    public JsonElement Logprobs { get; set; }
    public string? Suffix { get; set; }
}

public sealed class ChatCompletionRequest : SamplingRequest
{
    public List<ChatMessageRequest>? Messages { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public bool? Logprobs { get; set; }
    public JsonElement Tools { get; set; }
    public JsonElement ResponseFormat { get; set; }
}

public sealed class ChatMessageRequest
{
    public string? Role { get; set; }
    /// <summary>A string or an array of content parts ({"type": "text", "text": ...}).</summary>
    public JsonElement Content { get; set; }
}

public sealed record UsageResponse(int PromptTokens, int CompletionTokens, int TotalTokens);

public sealed record CompletionChoice(
    int Index,
    string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] object? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

public sealed record CompletionResponse(
    string Id, string Object, long Created, string Model, string SystemFingerprint,
    IReadOnlyList<CompletionChoice> Choices, UsageResponse? Usage);

public sealed record ChatMessageResponse(string? Role, string? Content);

public sealed record ChatChoice(
    int Index,
    ChatMessageResponse? Message,
    ChatMessageResponse? Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] object? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

public sealed record ChatCompletionResponse(
    string Id, string Object, long Created, string Model, string SystemFingerprint,
    IReadOnlyList<ChatChoice> Choices, UsageResponse? Usage);

public sealed record ModelResponse(string Id, string Object, long Created, string OwnedBy);

public sealed record ModelListResponse(string Object, IReadOnlyList<ModelResponse> Data);

public sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

public sealed record ErrorResponse(ErrorBody Error);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelResponse))]
[JsonSerializable(typeof(object))]
[JsonSerializable(typeof(ErrorResponse))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="Default"/>, writing quotes and '&lt;' as themselves: error messages stay readable in a terminal.</summary>
    public static OpenAiJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
