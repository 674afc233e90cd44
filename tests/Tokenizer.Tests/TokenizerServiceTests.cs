using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using LlmMesh.Contracts.V1;
using LlmMesh.Tokenization;
using LlmMesh.Tokenizer.Vocabularies;

namespace LlmMesh.Tokenizer.Tests;

public sealed class TokenizerServiceTests(TokenizerServiceFactory service) : IClassFixture<TokenizerServiceFactory>
{
    private readonly Contracts.V1.Tokenizer.TokenizerClient _client = service.CreateTokenizerClient();

    [Theory]
    [MemberData(nameof(RoundTripTests.HardTexts), MemberType = typeof(RoundTripTests))]
    public async Task Encode_then_Decode_round_trips(string text)
    {
        await service.WaitUntilReadyAsync();
        var encoded = await _client.EncodeAsync(new EncodeRequest { Text = text });
        var decoded = await _client.DecodeAsync(new DecodeRequest { Ids = { encoded.Ids } });

        Assert.Equal(text, decoded.Text);
        Assert.Equal(encoded.VocabularyVersion, decoded.VocabularyVersion);
    }

    [Fact]
    public async Task Empty_text_gives_no_ids()
    {
        await service.WaitUntilReadyAsync();
        var encoded = await _client.EncodeAsync(new EncodeRequest { Text = "" });
        Assert.Empty(encoded.Ids);
    }

    [Fact]
    public async Task Bos_and_eos_wrap_the_ids_and_decode_to_nothing()
    {
        var info = await service.WaitUntilReadyAsync();
        var encoded = await _client.EncodeAsync(new EncodeRequest { Text = "a cat", AddBos = true, AddEos = true });

        Assert.Equal(info.SpecialTokens.Bos, encoded.Ids[0]);
        Assert.Equal(info.SpecialTokens.Eos, encoded.Ids[^1]);
        Assert.Equal("a cat", (await _client.DecodeAsync(new DecodeRequest { Ids = { encoded.Ids } })).Text);
    }

    [Fact]
    public async Task GetInfo_reports_the_trained_vocabulary_and_stable_special_ids()
    {
        var info = await service.WaitUntilReadyAsync();

        var defaults = new TokenizerOptions();
        var expected = TestData.Train(File.ReadLines(TestData.CocoCorpus), defaults.VocabularySize, defaults.MinFrequency);
        // Merging stopped when every word of the corpus was one token, below the configured bound.
        Assert.Equal(expected.Tokens.Count, info.VocabularySize);
        Assert.InRange(info.VocabularySize, 8000, defaults.VocabularySize - 1);
        Assert.Equal((0, 1, 2, 3), (info.SpecialTokens.Pad, info.SpecialTokens.Bos, info.SpecialTokens.Eos, info.SpecialTokens.Unk));
        Assert.Equal(info.ActiveVersion, info.VocabularyVersion);
        Assert.Contains(info.ActiveVersion, info.AvailableVersions);
        Assert.Matches("^[0-9a-f]{16}$", info.VocabularyVersion);
        // The first vocabulary was trained from the configured corpus, deterministically.
        Assert.Equal(expected.Version, info.VocabularyVersion);
    }

    [Fact]
    public async Task Text_over_the_limit_is_refused_with_the_limit_in_the_message()
    {
        await service.WaitUntilReadyAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _client.EncodeAsync(new EncodeRequest { Text = new string('x', TokenizerServiceFactory.MaxTextBytes + 1) }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("text", error.Status.Detail);
        Assert.Contains(TokenizerServiceFactory.MaxTextBytes.ToString(), error.Status.Detail);
    }

    [Fact]
    public async Task A_message_over_the_receive_limit_is_resource_exhausted()
    {
        await service.WaitUntilReadyAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _client.EncodeAsync(new EncodeRequest { Text = new string('x', TokenizerServiceFactory.MaxReceiveMessageSize + 10) }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Theory]
    [InlineData(16384)] // the default bound: the COCO vocabulary stops below it
    [InlineData(99999)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public async Task Ids_outside_the_vocabulary_are_refused_naming_the_id(int badId)
    {
        await service.WaitUntilReadyAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _client.DecodeAsync(new DecodeRequest { Ids = { 10, 11, badId, 12 } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains($"ids[2] = {badId}", error.Status.Detail);
    }

    [Theory]
    [InlineData("0123456789abcdef", StatusCode.NotFound)]
    [InlineData("../../etc/passwd", StatusCode.InvalidArgument)]
    [InlineData("ACTIVE", StatusCode.InvalidArgument)]
    public async Task Unknown_vocabulary_versions_are_not_found_and_malformed_ones_invalid_on_every_rpc(string version, StatusCode expected)
    {
        await service.WaitUntilReadyAsync();

        await AssertRefused(_client.EncodeAsync(new EncodeRequest { Text = "a", VocabularyVersion = version }).ResponseAsync);
        await AssertRefused(_client.DecodeAsync(new DecodeRequest { Ids = { 5 }, VocabularyVersion = version }).ResponseAsync);
        await AssertRefused(_client.GetInfoAsync(new GetInfoRequest { VocabularyVersion = version }).ResponseAsync);

        using var stream = _client.DecodeStream();
        await stream.RequestStream.WriteAsync(new DecodeRequest { Ids = { 5 }, VocabularyVersion = version });
        await AssertRefused(stream.ResponseStream.MoveNext());

        async Task AssertRefused(Task call)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call);
            Assert.Equal(expected, error.StatusCode);
            Assert.Contains(version, error.Status.Detail);
        }
    }

    [Fact]
    public async Task EncodeStream_answers_every_text_in_order()
    {
        await service.WaitUntilReadyAsync();
        var random = new Random(1);
        var texts = Enumerable.Range(0, 200).Select(_ => TestData.RandomUnicode(random)).ToArray();

        using var call = _client.EncodeStream();
        var reading = Task.Run(async () =>
        {
            var responses = new List<EncodeResponse>();
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                responses.Add(response);
            }
            return responses;
        });
        foreach (var text in texts)
        {
            await call.RequestStream.WriteAsync(new EncodeRequest { Text = text });
        }
        await call.RequestStream.CompleteAsync();
        var streamed = await reading;

        Assert.Equal(texts.Length, streamed.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            var unary = await _client.EncodeAsync(new EncodeRequest { Text = texts[i] });
            Assert.Equal(unary.Ids, streamed[i].Ids);
        }
    }

    [Fact]
    public async Task DecodeStream_sends_only_whole_new_characters_that_add_up_to_Decode()
    {
        await service.WaitUntilReadyAsync();
        const string text = "👨‍👩‍👧 日本語 naïve café ✨ שלום";
        var ids = (await _client.EncodeAsync(new EncodeRequest { Text = text })).Ids;

        using var call = _client.DecodeStream();
        var deltas = new List<string>();
        foreach (var id in ids)
        {
            await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { id } });
            Assert.True(await call.ResponseStream.MoveNext());
            deltas.Add(call.ResponseStream.Current.Text);
        }
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Equal(ids.Count, deltas.Count);
        Assert.Equal(text, string.Concat(deltas));
        Assert.Contains(deltas, d => d.Length == 0); // multi-byte characters were held back
        Assert.All(deltas, d => Assert.DoesNotContain('\uFFFD', d));
    }

    [Fact]
    public async Task DecodeStream_flushes_an_unfinished_character_when_the_client_ends()
    {
        await service.WaitUntilReadyAsync();
        var partial = Encoding.UTF8.GetBytes("😀").Take(3).Select(b => SpecialTokens.FirstByteId + b);

        using var call = _client.DecodeStream();
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { partial } });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("", call.ResponseStream.Current.Text);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("\uFFFD", call.ResponseStream.Current.Text);
        Assert.Equal("\uFFFD", (await _client.DecodeAsync(new DecodeRequest { Ids = { partial } })).Text);
    }

    [Fact]
    public async Task DecodeStream_final_flag_flushes_and_starts_a_new_sequence()
    {
        await service.WaitUntilReadyAsync();
        var emoji = Encoding.UTF8.GetBytes("😀").Select(b => SpecialTokens.FirstByteId + b).ToArray();

        using var call = _client.DecodeStream();
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { emoji[..2] }, Final = true });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("\uFFFD", call.ResponseStream.Current.Text);
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { emoji } });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("😀", call.ResponseStream.Current.Text);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task DecodeStream_refuses_an_id_outside_the_vocabulary()
    {
        await service.WaitUntilReadyAsync();
        using var call = _client.DecodeStream();
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { 40, 41 } });
        Assert.True(await call.ResponseStream.MoveNext());
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { 42, 50000 } });

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("ids[1] = 50000", error.Status.Detail);
    }

    [Fact]
    public async Task Readiness_is_reported_over_http_and_grpc_health()
    {
        await service.WaitUntilReadyAsync();
        using var http = service.CreateClient();

        Assert.Equal("Healthy", await http.GetStringAsync("/health"));
        Assert.Equal("Healthy", await http.GetStringAsync("/alive"));
        var health = await new Health.HealthClient(service.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}
