using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Clients.Tests;

public sealed class LlmMeshChatClientTests
{
    private readonly ScriptedGeneratorClient _generator = new();

    private IChatClient ChatClient()
    {
        var services = new ServiceCollection().AddLlmMeshClient(o => o.Generator = new Uri("http://127.0.0.1:1"));
        services.AddTransient<Generator.GeneratorClient>(_ => _generator);
        return services.BuildServiceProvider().GetRequiredService<IChatClient>();
    }

    [Fact]
    public async Task Streaming_yields_the_text_as_it_comes_then_usage_finish_reason_and_model()
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in ChatClient().GetStreamingResponseAsync("a dog on a beach", new ChatOptions { MaxOutputTokens = 3 }))
        {
            updates.Add(update);
        }

        Assert.Equal(["a", " dog", " on"], updates.Where(u => u.Text.Length > 0).Select(u => u.Text));
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        Assert.Equal("20261128T000000Z-test", last.ModelId);
        var usage = Assert.Single(last.Contents.OfType<UsageContent>()).Details;
        Assert.Equal((5, 3, 8), (usage.InputTokenCount, usage.OutputTokenCount, usage.TotalTokenCount));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(3, Assert.Single(_generator.Requests).MaxTokens);
    }

    [Fact]
    public async Task A_whole_response_is_the_stream_put_together()
    {
        var response = await ChatClient().GetResponseAsync("a cat", new ChatOptions { Seed = 9 });

        Assert.Equal("a cat", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(4, response.Usage?.TotalTokenCount);
        // The seed that makes the answer reproducible travels with the message.
        Assert.Equal(9ul, response.Messages[^1].AdditionalProperties?["seed"]);
    }

    [Fact]
    public async Task Leaving_the_stream_early_cancels_the_generation()
    {
        _generator.Respond = (_, cancellationToken) => Endless(cancellationToken);
        await foreach (var _ in ChatClient().GetStreamingResponseAsync("x"))
        {
            break;
        }
        Assert.Equal(1, _generator.Cancelled);

        using var cancel = new CancellationTokenSource();
        var read = 0;
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in ChatClient().GetStreamingResponseAsync("x", cancellationToken: cancel.Token))
            {
                if (++read == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        Assert.Equal(2, _generator.Cancelled);
    }

    [Fact]
    public void It_describes_itself_and_hands_out_the_typed_client()
    {
        var client = ChatClient();
        var metadata = client.GetService<ChatClientMetadata>();
        Assert.Equal("llmmesh", metadata?.ProviderName);
        Assert.Equal(new Uri("http://127.0.0.1:1"), metadata?.ProviderUri);
        Assert.NotNull(client.GetService<LlmMeshClient>());
        Assert.Null(client.GetService<ChatClientMetadata>("keyed"));
    }

    private static async IAsyncEnumerable<GenerateResponse> Endless([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            await Task.Delay(1, cancellationToken);
            yield return new GenerateResponse { Chunk = new GenerateChunk { Text = " w", TokenIds = { i } } };
        }
    }
}
