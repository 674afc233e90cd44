using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace LlmMesh.Integration.Tests;

/// <summary>The OpenAI-compatible gateway, called by the official OpenAI SDK and by Microsoft.Extensions.AI.OpenAI.</summary>
[Collection(MeshCollection.Name)]
public sealed class OpenAiGatewayThroughHostTests(MeshFixture mesh) : IAsyncLifetime
{
    private const string Prompt = "a man riding a horse";
    private Uri _gateway = null!;
    private OpenAIClient _openAi = null!;
    private ServiceProvider _meshClients = null!;

    public async Task InitializeAsync()
    {
        await mesh.App.ResourceNotifications.WaitForResourceHealthyAsync("gateway", new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        _gateway = mesh.App.GetEndpoint("gateway", "http");
        _openAi = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(_gateway, "/v1") });
        _meshClients = new ServiceCollection().AddLlmMeshClient(o => o.Generator = mesh.App.GetEndpoint("generator", "grpc")).BuildServiceProvider();
    }

    public async Task DisposeAsync() => await _meshClients.DisposeAsync();

    [Fact]
    public async Task The_OpenAI_SDK_gets_what_Generate_gives_whole_or_streamed_with_usage_and_finish_reason()
    {
        var chat = _openAi.GetChatClient("llmmesh");
        var options = new ChatCompletionOptions { Temperature = 0.75f, TopP = 0.875f, MaxOutputTokenCount = 16, Seed = 31, StopSequences = { " on " } };
        ChatMessage[] messages = [new SystemChatMessage("describe a photo"), new UserChatMessage(Prompt)];
        var direct = await Direct().GenerateAsync(new GenerateRequest { Prompt = Prompt, Temperature = 0.75, TopP = 0.875, MaxTokens = 16, Seed = 31, Stop = { " on " } });

        ChatCompletion completion = await chat.CompleteChatAsync(messages, options);
        Assert.Equal(direct.Text, Assert.Single(completion.Content).Text);
        Assert.Equal(direct.FinishReason == "length" ? OpenAI.Chat.ChatFinishReason.Length : OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(direct.Usage.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(direct.Usage.CompletionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(direct.BundleVersion, completion.Model);

        var streamed = new StringBuilder();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(part => part.Text)));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(direct.Text, streamed.ToString());
        Assert.Equal(completion.FinishReason, finish);
        Assert.Equal(direct.Usage.TotalTokens, usage?.TotalTokenCount);
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_over_the_gateway_answers_as_the_grpc_chat_client_does()
    {
        IChatClient viaGateway = _openAi.GetChatClient("llmmesh").AsIChatClient();
        var viaGrpc = _meshClients.GetRequiredService<IChatClient>();
        var options = new ChatOptions { Temperature = 0.75f, TopP = 0.875f, MaxOutputTokens = 20, Seed = 32 };

        var overHttp = await viaGateway.GetResponseAsync(Prompt, options);
        var overGrpc = await viaGrpc.GetResponseAsync(Prompt, options);

        Assert.NotEmpty(overGrpc.Text);
        Assert.Equal(overGrpc.Text, overHttp.Text);
        Assert.Equal(overGrpc.FinishReason, overHttp.FinishReason);
        Assert.Equal(overGrpc.Usage?.OutputTokenCount, overHttp.Usage?.OutputTokenCount);
        Assert.Equal(overGrpc.Usage?.InputTokenCount, overHttp.Usage?.InputTokenCount);

        var streamed = new StringBuilder();
        await foreach (var update in viaGateway.GetStreamingResponseAsync(Prompt, options))
        {
            streamed.Append(update.Text);
        }
        Assert.Equal(overGrpc.Text, streamed.ToString());
    }

    [Fact]
    public async Task Models_and_errors_reach_the_SDK_as_OpenAI_reports_them()
    {
        var served = (await Direct().GetModelInfoAsync(MeshModelService.Generator)).BundleVersion;
        var models = (await _openAi.GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([served, "llmmesh"], models.Take(2).Select(m => m.Id));
        Assert.Contains("coco", models.Select(m => m.Id)); // and every other named model of the store
        Assert.Equal(served, (await _openAi.GetOpenAIModelClient().GetModelAsync(served)).Value.Id);

        var badTemperature = await Assert.ThrowsAsync<ClientResultException>(() =>
            _openAi.GetChatClient("llmmesh").CompleteChatAsync([new UserChatMessage(Prompt)], new ChatCompletionOptions { Temperature = -1 }));
        Assert.Equal(400, badTemperature.Status);
        Assert.Contains("temperature", badTemperature.Message);

        var unknownModel = await Assert.ThrowsAsync<ClientResultException>(() => _openAi.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage(Prompt)]));
        Assert.Equal(404, unknownModel.Status);
        Assert.Contains("model_not_found", unknownModel.Message);
    }

    [Fact]
    public async Task Completions_stream_as_server_sent_events_ending_in_done()
    {
        using var http = new HttpClient { BaseAddress = _gateway };
        var direct = await Direct().GenerateAsync(new GenerateRequest { Prompt = Prompt, MaxTokens = 12, Seed = 33, Temperature = 0.5 });

        var response = await http.PostAsync("/v1/completions", Json($$"""{"model": "llmmesh", "prompt": "{{Prompt}}", "max_tokens": 12, "seed": 33, "temperature": 0.5, "stream": true, "stream_options": {"include_usage": true} }"""));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToArray();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonSerializer.Deserialize<JsonElement>(e)).ToArray();
        var choices = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).ToArray();
        Assert.Equal(direct.Text, string.Concat(choices.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal(direct.FinishReason == "length" ? "length" : "stop", choices[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(direct.Usage.CompletionTokens, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var whole = await http.PostAsync("/v1/completions", Json($$"""{"prompt": "{{Prompt}}", "max_tokens": 12, "seed": 33, "temperature": 0.5, "n": 2}"""));
        var body = JsonSerializer.Deserialize<JsonElement>(await whole.Content.ReadAsStringAsync());
        Assert.Equal(direct.Text, body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(2, body.GetProperty("choices").GetArrayLength());
    }

    [Fact]
    public async Task A_client_disconnecting_from_an_event_stream_stops_the_generator_decoding()
    {
        using var http = new HttpClient(ClosingHandler()) { BaseAddress = _gateway };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = Json($$"""{"prompt": "{{Prompt}}", "max_tokens": {{MeshFixture.LongStreamTokens}}, "ignore_eos": true, "stream": true}"""),
        };
        using var trace = GenerationSpan.StartTrace(nameof(A_client_disconnecting_from_an_event_stream_stops_the_generator_decoding));
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: {", await reader.ReadLineAsync());
        }

        var span = await GenerationSpan.FindAsync(mesh, trace.TraceId, TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", span.FinishReason);
        Assert.InRange(span.OutputTokens, 1, MeshFixture.LongStreamTokens / 2);
    }

    [Fact]
    public async Task An_SDK_client_cancelling_its_stream_stops_the_generator_decoding()
    {
        var openAi = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(_gateway, "/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(ClosingHandler())),
        });
        var options = new ChatCompletionOptions { MaxOutputTokenCount = MeshFixture.LongStreamTokens };
        // ignore_eos (vLLM's extension) is not an OpenAI option: the SDK sends it as an additional property.
        options.Patch.Set("$.ignore_eos"u8, true);
        using var cancel = new CancellationTokenSource();
        using var trace = GenerationSpan.StartTrace(nameof(An_SDK_client_cancelling_its_stream_stops_the_generator_decoding));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in openAi.GetChatClient("llmmesh").CompleteChatStreamingAsync([new UserChatMessage(Prompt)], options, cancel.Token))
            {
                await cancel.CancelAsync();
            }
        });

        var span = await GenerationSpan.FindAsync(mesh, trace.TraceId, TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", span.FinishReason);
        Assert.InRange(span.OutputTokens, 1, MeshFixture.LongStreamTokens / 2);
    }

    /// <summary>
    /// .NET's HttpClient drains up to 1 MB of an abandoned response to reuse its connection, so the
    /// server only learns that the client left after that much; a client that wants a cancelled
    /// stream to stop the server's work at once closes the connection instead.
    /// </summary>
    private static SocketsHttpHandler ClosingHandler() => new() { MaxResponseDrainSize = 0 };

    private LlmMeshClient Direct() => _meshClients.GetRequiredService<LlmMeshClient>();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
