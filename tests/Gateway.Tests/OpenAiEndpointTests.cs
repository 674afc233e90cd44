using System.Net;
using System.Text.Json;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Gateway.Tests;

public sealed class OpenAiEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Models_lists_the_served_bundle_the_alias_and_every_named_model()
    {
        var models = await _gateway.GetJsonAsync("/v1/models");
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal(["20261128T000000Z-test", "llmmesh", "coco", "zh"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.All(models.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));

        Assert.Equal("llmmesh", (await _gateway.GetJsonAsync("/v1/models/llmmesh")).GetProperty("id").GetString());
        var missing = await _gateway.CreateClient().GetAsync("/v1/models/gpt-4");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("model_not_found", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_the_models_service_the_default_model_is_still_listed()
    {
        _gateway.Models = null;
        var models = await _gateway.GetJsonAsync("/v1/models");
        Assert.Equal(["20261128T000000Z-test", "llmmesh"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_named_model_answers_requests_that_name_it_and_an_unknown_one_is_model_not_found()
    {
        _gateway.Generator.NamedModels.Add("zh");
        var (response, body) = await _gateway.PostAsync("/v1/chat/completions", """{"model": "zh", "messages": [{"role": "user", "content": "a b"}], "max_tokens": 2}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("zh", body.GetProperty("model").GetString());
        Assert.Equal("zh", Assert.Single(_gateway.Generator.Requests).Model);

        var (missing, error) = await _gateway.PostAsync("/v1/completions", """{"model": "sonnets", "prompt": "a"}""");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model_not_found", error.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("'sonnets'", error.GetProperty("error").GetProperty("message").GetString());
        Assert.Single(_gateway.Generator.Requests);
    }

    [Fact]
    public async Task A_completion_has_its_text_finish_reason_usage_and_model()
    {
        var (response, body) = await _gateway.PostAsync("/v1/completions", """{"model": "llmmesh", "prompt": "a dog on a beach", "max_tokens": 3, "seed": 4}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal("20261128T000000Z-test", body.GetProperty("model").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("a dog on", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal((5, 3, 8), Usage(body));
        var sent = Assert.Single(_gateway.Generator.Requests);
        Assert.Equal((3, 4ul), (sent.MaxTokens, sent.Seed));
    }

    [Fact]
    public async Task Several_prompts_and_n_give_prompt_major_choices_with_consecutive_seeds()
    {
        var (_, body) = await _gateway.PostAsync("/v1/completions", """{"prompt": ["one two", "three"], "n": 2, "seed": 10, "echo": true}""");

        var choices = body.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        // echo: the prompt, then the (scripted) completion, which repeats the prompt's words.
        Assert.Equal(["one twoone two", "one twoone two", "threethree", "threethree"], choices.Select(c => c.GetProperty("text").GetString()));
        Assert.All(choices, c => Assert.Equal("stop", c.GetProperty("finish_reason").GetString()));
        var requests = _gateway.Generator.Requests.OrderBy(r => r.Prompt).ThenBy(r => r.Seed).Select(r => (r.Prompt, r.Seed));
        Assert.Equal([("one two", 10ul), ("one two", 11ul), ("three", 10ul), ("three", 11ul)], requests);
        // Each prompt is read once; completions add up.
        Assert.Equal((3, 6, 9), Usage(body));
    }

    [Fact]
    public async Task A_chat_stream_sends_role_then_content_then_the_finish_then_usage_then_done()
    {
        var (response, events) = await _gateway.StreamAsync("/v1/chat/completions", """
            {"model": "20261128T000000Z-test", "stream": true, "stream_options": {"include_usage": true},
             "messages": [{"role": "system", "content": "ignored"}, {"role": "user", "content": "old"},
                          {"role": "user", "content": [{"type": "text", "text": "a cat"}, {"type": "text", "text": "sleeping"}]}]}
            """);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonSerializer.Deserialize<JsonElement>(e)).ToArray();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        var deltas = chunks.SkipLast(1).Select(c => Assert.Single(c.GetProperty("choices").EnumerateArray())).ToArray();
        Assert.Equal("assistant", deltas[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(deltas.Skip(1), d => Assert.False(d.GetProperty("delta").TryGetProperty("role", out _)));
        Assert.Equal("a cat\nsleeping", string.Concat(deltas.Select(d => d.GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : "")));
        Assert.Equal("stop", deltas[^1].GetProperty("finish_reason").GetString());
        Assert.All(deltas.SkipLast(1), d => Assert.Equal(JsonValueKind.Null, d.GetProperty("finish_reason").ValueKind));
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal((2, 2, 4), Usage(chunks[^1]));
        Assert.Equal("a cat\nsleeping", Assert.Single(_gateway.Generator.Requests).Prompt);
    }

    [Fact]
    public async Task A_stream_without_include_usage_has_no_usage_chunk()
    {
        var (_, events) = await _gateway.StreamAsync("/v1/completions", """{"prompt": "x y", "stream": true}""");
        Assert.Equal("[DONE]", events[^1]);
        Assert.All(events.SkipLast(1), e => Assert.DoesNotContain("usage", e));
        Assert.Equal("x y", string.Concat(events.SkipLast(1).Select(e => JsonSerializer.Deserialize<JsonElement>(e).GetProperty("choices")[0].GetProperty("text").GetString())));
    }

    [Fact]
    public async Task A_non_streamed_chat_answer_is_one_assistant_message()
    {
        var (_, body) = await _gateway.PostAsync("/v1/chat/completions",
            """{"messages": [{"role": "user", "content": "a red bus"}], "max_completion_tokens": 2, "max_tokens": 50, "top_k": -1, "min_p": 0.1, "repetition_penalty": 1.1, "ignore_eos": true, "variation": 0.5, "lm_weight": 0.7, "latent_source": "prior", "stop": "."}""");

        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("a red", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var sent = Assert.Single(_gateway.Generator.Requests);
        Assert.Equal(2, sent.MaxTokens);
        Assert.Equal(0, sent.TopK);
        Assert.Equal((0.1, 1.1, 0.5, 0.7), (sent.MinP, sent.RepetitionPenalty, sent.Variation, sent.LmWeight));
        Assert.True(sent.IgnoreEos);
        Assert.Equal(LatentSource.Prior, sent.LatentSource);
        Assert.Equal(["."], sent.Stop);
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}""", "temperature" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}""", "" },
        { "/v1/chat/completions", """{"messages": []}""", "messages" },
        { "/v1/chat/completions", """{"messages": [{"role": "robot", "content": "x"}]}""", "messages[0].role" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages[0].content" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}]}""", "tools" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "logprobs": true}""", "logprobs" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}""", "response_format" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "n": 0}""", "n" },
        { "/v1/completions", """{"prompt": ["a", "b"], "n": 9}""", "n" },
        { "/v1/completions", """{"prompt": "x", "presence_penalty": 0.5}""", "presence_penalty" },
        { "/v1/completions", """{"prompt": "x", "frequency_penalty": -1}""", "frequency_penalty" },
        { "/v1/completions", """{"prompt": "x", "seed": -3}""", "seed" },
        { "/v1/completions", """{"prompt": [1, 2, 3]}""", "prompt" },
        { "/v1/completions", """{"prompt": {"text": "x"}}""", "prompt" },
        { "/v1/completions", """{"prompt": "x", "stop": [1]}""", "stop" },
        { "/v1/completions", """{"prompt": "x", "suffix": "end"}""", "suffix" },
        { "/v1/completions", """{"prompt": "x", "logprobs": 2}""", "logprobs" },
        { "/v1/completions", """{"prompt": "x", "latent_source": "moon"}""", "latent_source" },
        { "/v1/completions", """{"prompt": "x", "max_tokens": 1.5}""", "max_tokens" },
        { "/v1/completions", "[]", "" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_400_with_the_field_named_and_nothing_generated(string path, string json, string param)
    {
        var (response, body) = await _gateway.PostAsync(path, json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (param.Length > 0)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
        Assert.Empty(_gateway.Generator.Requests);
    }

    public static TheoryData<StatusCode, HttpStatusCode, string> GeneratorFailures => new()
    {
        { StatusCode.InvalidArgument, HttpStatusCode.BadRequest, "invalid_request_error" },
        { StatusCode.OutOfRange, HttpStatusCode.BadRequest, "invalid_request_error" },
        { StatusCode.FailedPrecondition, HttpStatusCode.BadRequest, "invalid_request_error" },
        { StatusCode.ResourceExhausted, HttpStatusCode.TooManyRequests, "rate_limit_error" },
        { StatusCode.Unavailable, HttpStatusCode.ServiceUnavailable, "service_unavailable" },
        { StatusCode.DeadlineExceeded, HttpStatusCode.GatewayTimeout, "timeout" },
        { StatusCode.Internal, HttpStatusCode.InternalServerError, "server_error" },
    };

    [Theory]
    [MemberData(nameof(GeneratorFailures))]
    public async Task A_request_the_generator_refuses_is_an_http_error_even_when_streaming(StatusCode status, HttpStatusCode http, string type)
    {
        _gateway.Generator.Respond = (_, _) => Fail(status, "temperature must be a finite number >= 0, not -1");

        foreach (var stream in new[] { false, true })
        {
            var (response, body) = await _gateway.PostAsync("/v1/completions", $$"""{"prompt": "x", "stream": {{(stream ? "true" : "false")}}}""");
            Assert.Equal(http, response.StatusCode);
            Assert.Equal(type, body.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("temperature must be a finite number >= 0", body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_failure_after_the_stream_started_is_its_last_event()
    {
        _gateway.Generator.Respond = (_, _) => FailAfterOneChunk();

        var (response, events) = await _gateway.StreamAsync("/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}], "stream": true}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var error = JsonSerializer.Deserialize<JsonElement>(events[^2]).GetProperty("error");
        Assert.Equal("service_unavailable", error.GetProperty("type").GetString());
        Assert.Contains("restarting", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Without_a_model_the_gateway_is_unready_and_answers_503()
    {
        _gateway.Generator.ModelInfoError = new RpcException(new Status(StatusCode.Unavailable, "the model is not ready: no bundle in the store"));

        var health = await _gateway.CreateClient().GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var (response, body) = await _gateway.PostAsync("/v1/chat/completions", """{"messages": [{"role": "user", "content": "x"}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("no bundle in the store", body.GetProperty("error").GetProperty("message").GetString());

        _gateway.Generator.ModelInfoError = null;
        Assert.Equal(HttpStatusCode.OK, (await _gateway.CreateClient().GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_cancels_every_generation()
    {
        _gateway.Generator.Respond = (_, cancellationToken) => Endless(cancellationToken);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt": "x", "stream": true, "n": 3}""", System.Text.Encoding.UTF8, "application/json"),
        };
        using (var response = await _gateway.CreateClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: {", await reader.ReadLineAsync());
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_gateway.Generator.Cancelled < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(3, _gateway.Generator.Cancelled);
    }

    private static (int, int, int) Usage(JsonElement body)
    {
        var usage = body.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    private static async IAsyncEnumerable<GenerateResponse> Fail(StatusCode status, string message)
    {
        await Task.Yield();
        throw new RpcException(new Status(status, message));
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    private static async IAsyncEnumerable<GenerateResponse> FailAfterOneChunk()
    {
        await Task.Yield();
        yield return new GenerateResponse { Chunk = new GenerateChunk { Text = "a", TokenIds = { 1 } } };
        throw new RpcException(new Status(StatusCode.Unavailable, "the generator is restarting"));
    }

    private static async IAsyncEnumerable<GenerateResponse> Endless([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            await Task.Delay(5, cancellationToken);
            yield return new GenerateResponse { Chunk = new GenerateChunk { Text = " w", TokenIds = { i } } };
        }
    }
}
