using Aspire.Hosting.Testing;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Integration.Tests;

/// <summary>The .NET client library (AddLlmMeshClient, LlmMeshClient, IChatClient) against the real host.</summary>
[Collection(MeshCollection.Name)]
public sealed class ClientLibraryThroughHostTests(MeshFixture mesh) : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddLlmMeshClient(o =>
        {
            o.Tokenizer = mesh.App.GetEndpoint("tokenizer", "grpc");
            o.Encoder = mesh.App.GetEndpoint("encoder", "grpc");
            o.Generator = mesh.App.GetEndpoint("generator", "grpc");
            o.Discriminator = mesh.App.GetEndpoint("discriminator", "grpc");
            o.Trainer = mesh.App.GetEndpoint("trainer", "grpc");
        })
        .BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task The_chat_client_streams_what_Generate_gives_for_the_same_options_with_usage_and_finish_reason()
    {
        var chat = _services.GetRequiredService<IChatClient>();
        var mesh = _services.GetRequiredService<LlmMeshClient>();
        var options = new ChatOptions
        {
            Temperature = 0.75f, TopP = 0.875f, TopK = 30, MaxOutputTokens = 16, Seed = 21, StopSequences = [" on "],
            AdditionalProperties = new() { ["ignore_eos"] = true },
        };
        var messages = new[] { new ChatMessage(ChatRole.System, "describe a photo"), new ChatMessage(ChatRole.User, "a man riding a horse") };

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options))
        {
            updates.Add(update);
        }
        var direct = await mesh.GenerateAsync(new GenerateRequest
        {
            Prompt = "a man riding a horse", Temperature = 0.75, TopP = 0.875, TopK = 30, MaxTokens = 16, Seed = 21, Stop = { " on " }, IgnoreEos = true,
        });

        var text = string.Concat(updates.Select(u => u.Text));
        Assert.Equal(direct.Text, text);
        Assert.NotEmpty(text);
        Assert.DoesNotContain(" on ", text);
        var last = updates[^1];
        Assert.Equal(direct.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop, last.FinishReason);
        Assert.Equal(direct.BundleVersion, last.ModelId);
        var usage = Assert.Single(last.Contents.OfType<UsageContent>()).Details;
        Assert.Equal(direct.Usage.PromptTokens, usage.InputTokenCount);
        Assert.Equal(direct.Usage.CompletionTokens, usage.OutputTokenCount);
        Assert.True(usage.InputTokenCount > 0);

        var whole = await chat.GetResponseAsync(messages, options);
        Assert.Equal(text, whole.Text);
        Assert.Equal(usage.TotalTokenCount, whole.Usage?.TotalTokenCount);
    }

    [Fact]
    public async Task The_typed_client_covers_encoder_discriminator_trainer_and_model_info()
    {
        var client = _services.GetRequiredService<LlmMeshClient>();
        var version = await mesh.AraeBundleAsync();

        var codes = await client.EncodeAsync(["a dog on a beach", "a red bus"], seed: 3);
        Assert.Equal(2, codes.Codes.Count);
        Assert.Equal(3ul, codes.Seed);
        var scores = await client.ScoreTextsAsync(["a dog on a beach"]);
        Assert.InRange(Assert.Single(scores.Results).Probability, 0, 1);
        Assert.Equal(version, scores.BundleVersion);
        Assert.Contains(await client.ListRunsAsync(), run => run.BundleVersion == version);
        Assert.Equal(version, (await client.GetModelInfoAsync(MeshModelService.Discriminator)).BundleVersion);
    }

    [Fact]
    public async Task Leaving_a_chat_stream_stops_the_generator_decoding()
    {
        var chat = _services.GetRequiredService<IChatClient>();
        var options = new ChatOptions
        {
            MaxOutputTokens = MeshFixture.LongStreamTokens, AdditionalProperties = new() { ["ignore_eos"] = true },
        };
        using var cancel = new CancellationTokenSource();
        using var trace = GenerationSpan.StartTrace(nameof(Leaving_a_chat_stream_stops_the_generator_decoding));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in chat.GetStreamingResponseAsync("a man riding a horse", options, cancel.Token))
            {
                await cancel.CancelAsync();
            }
        });

        var span = await GenerationSpan.FindAsync(mesh, trace.TraceId, TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", span.FinishReason);
        Assert.InRange(span.OutputTokens, 1, MeshFixture.LongStreamTokens / 2);
    }
}
