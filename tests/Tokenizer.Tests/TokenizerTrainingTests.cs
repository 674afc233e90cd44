using Grpc.Core;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Tokenizer.Tests;

public sealed class TokenizerTrainingTests : IDisposable
{
    private static readonly string[] SmallCorpus = File.ReadLines(TestData.CocoCorpus).Skip(5000).Take(1500).ToArray();
    private readonly TokenizerServiceFactory _service = new();

    [Fact]
    public async Task Train_stores_a_new_version_without_changing_the_active_one()
    {
        var before = await _service.WaitUntilReadyAsync();
        var client = _service.CreateTokenizerClient();

        var trained = await TrainAsync(client, SmallCorpus, vocabularySize: 700);

        Assert.True(trained.Created);
        Assert.False(trained.Active);
        Assert.Equal(700, trained.Size);
        Assert.Equal(SmallCorpus.Length, trained.Lines);
        Assert.NotEqual(before.VocabularyVersion, trained.Version);

        var after = await client.GetInfoAsync(new GetInfoRequest());
        Assert.Equal(before.VocabularyVersion, after.ActiveVersion);
        Assert.Contains(trained.Version, after.AvailableVersions);

        // Both versions serve requests that name them, with their own ids.
        var newInfo = await client.GetInfoAsync(new GetInfoRequest { VocabularyVersion = trained.Version });
        Assert.Equal(700, newInfo.VocabularySize);
        var text = "a giraffe standing next to a tall tree.";
        var ids = (await client.EncodeAsync(new EncodeRequest { Text = text, VocabularyVersion = trained.Version })).Ids;
        Assert.All(ids, id => Assert.InRange(id, 0, 699));
        Assert.Equal(text, (await client.DecodeAsync(new DecodeRequest { Ids = { ids }, VocabularyVersion = trained.Version })).Text);

        // The same corpus again is the same version: nothing new is stored.
        var again = await TrainAsync(client, SmallCorpus, vocabularySize: 700);
        Assert.Equal(trained.Version, again.Version);
        Assert.False(again.Created);
    }

    [Fact]
    public async Task Train_with_activate_switches_the_active_version_and_announces_it()
    {
        await _service.WaitUntilReadyAsync();
        var client = _service.CreateTokenizerClient();

        var trained = await TrainAsync(client, SmallCorpus, vocabularySize: 800, activate: true);

        Assert.True(trained.Active);
        Assert.Equal(trained.Version, (await client.GetInfoAsync(new GetInfoRequest())).ActiveVersion);
        Assert.Equal(trained.Version, (await client.EncodeAsync(new EncodeRequest { Text = "a dog" })).VocabularyVersion);
        Assert.True(await _service.Harness.Published.Any<VocabularyPublished>(m =>
            m.Context.Message.Version == trained.Version && m.Context.Message.Active && m.Context.Message.Size == 800));
    }

    [Fact]
    public async Task Train_refuses_an_empty_corpus_and_bad_settings_naming_the_field()
    {
        await _service.WaitUntilReadyAsync();
        var client = _service.CreateTokenizerClient();

        var empty = await Assert.ThrowsAsync<RpcException>(() => TrainAsync(client, [], 1000));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Contains("lines", empty.Status.Detail);

        var tooSmall = await Assert.ThrowsAsync<RpcException>(() => TrainAsync(client, SmallCorpus, 10));
        Assert.Equal(StatusCode.InvalidArgument, tooSmall.StatusCode);
        Assert.Contains("vocabulary_size", tooSmall.Status.Detail);

        var badFrequency = await Assert.ThrowsAsync<RpcException>(() => TrainAsync(client, SmallCorpus, 1000, minFrequency: -3));
        Assert.Equal(StatusCode.InvalidArgument, badFrequency.StatusCode);
        Assert.Contains("min_frequency", badFrequency.Status.Detail);
    }

    [Fact]
    public async Task Train_refuses_a_corpus_over_the_size_limit()
    {
        await _service.WaitUntilReadyAsync();
        var client = _service.CreateTokenizerClient();
        var line = new string('w', 1000);
        var lines = Enumerable.Repeat(line, TokenizerServiceFactory.MaxTrainingCorpusBytes / 1000 + 5).ToArray();

        var error = await Assert.ThrowsAsync<RpcException>(() => TrainAsync(client, lines, 1000));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains(TokenizerServiceFactory.MaxTrainingCorpusBytes.ToString(), error.Status.Detail);
    }

    [Fact]
    public async Task A_restarted_service_serves_the_stored_active_vocabulary_without_training()
    {
        var first = await _service.WaitUntilReadyAsync();
        Assert.True(await _service.Harness.Published.Any<VocabularyPublished>(m => m.Context.Message.Version == first.VocabularyVersion));

        using var restarted = new TokenizerServiceFactory(_service.StoreRoot, corpusPath: "/nonexistent/corpus.txt");
        var info = await restarted.WaitUntilReadyAsync();

        Assert.Equal(first.VocabularyVersion, info.VocabularyVersion);
        Assert.False(await restarted.Harness.Published.Any<VocabularyPublished>());
    }

    [Fact]
    public async Task Without_a_vocabulary_or_corpus_the_service_stays_unready_and_says_why()
    {
        var emptyStore = Directory.CreateTempSubdirectory("llmmesh-tokenizer-").FullName;
        using var service = new TokenizerServiceFactory(emptyStore, "/nonexistent/corpus.txt", ownsStore: true);
        var client = service.CreateTokenizerClient();
        using var http = service.CreateClient();

        var health = await http.GetAsync("/health");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var error = await Assert.ThrowsAsync<RpcException>(() => client.EncodeAsync(new EncodeRequest { Text = "a" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("not ready", error.Status.Detail);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/alive")).StatusCode);
    }

    private static async Task<TrainResponse> TrainAsync(
        Contracts.V1.Tokenizer.TokenizerClient client, IReadOnlyList<string> lines, int vocabularySize, bool activate = false, int minFrequency = 0)
    {
        using var call = client.Train();
        try
        {
            await call.RequestStream.WriteAsync(new TrainRequest { VocabularySize = vocabularySize, MinFrequency = minFrequency, Activate = activate });
            foreach (var batch in lines.Chunk(100))
            {
                await call.RequestStream.WriteAsync(new TrainRequest { Lines = { batch } });
            }
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server refused the settings before reading every line: its status is the call's.
        }
        return await call;
    }

    public void Dispose() => _service.Dispose();
}
