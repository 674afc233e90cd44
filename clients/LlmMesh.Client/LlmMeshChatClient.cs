using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmMesh.Client;

/// <summary>
/// An <see cref="IChatClient"/> over the generator: streams the Generate RPC as updates, reports
/// usage and the finish reason in the last one, and names the bundle that answered as the model.
/// Options map as <see cref="ChatRequestMapping"/> describes.
/// </summary>
public sealed class LlmMeshChatClient(LlmMeshClient client, Uri? generatorAddress = null) : IChatClient
{
    public const string ProviderName = "llmmesh";

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ChatRequestMapping.ToGenerateRequest(messages, options);
        var responseId = Guid.NewGuid().ToString("N");
        var createdAt = DateTimeOffset.UtcNow;
        await foreach (var response in client.GenerateStreamingAsync(request, cancellationToken))
        {
            if (response.Chunk is { Text.Length: > 0 } chunk)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, chunk.Text)
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    CreatedAt = createdAt,
                };
            }
            else if (response.Final is { } final)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(ChatRequestMapping.ToUsage(final.Usage))])
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    CreatedAt = createdAt,
                    ModelId = final.BundleVersion,
                    FinishReason = ChatRequestMapping.ToFinishReason(final.FinishReason),
                    AdditionalProperties = new()
                    {
                        ["seed"] = final.Seed,
                        ["finish_reason"] = final.FinishReason,
                        ["latent_source"] = final.LatentSource,
                    },
                };
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata(ProviderName, generatorAddress)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(client) ? client
        : null;

    public void Dispose()
    {
        // The gRPC clients belong to the client factory.
    }
}
