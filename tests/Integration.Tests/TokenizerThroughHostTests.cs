using Aspire.Hosting.Testing;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;
using MassTransit;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class TokenizerThroughHostTests(MeshFixture mesh)
{
    [Fact]
    public async Task Every_resource_is_healthy_and_the_tokenizer_round_trips_through_the_host()
    {
        var client = new Tokenizer.TokenizerClient(mesh.Channel("tokenizer"));
        const string text = "a man riding a wave on top of a surfboard 🏄‍♂️.";

        var encoded = await client.EncodeAsync(new EncodeRequest { Text = text });
        var decoded = await client.DecodeAsync(new DecodeRequest { Ids = { encoded.Ids } });
        var info = await client.GetInfoAsync(new GetInfoRequest());

        Assert.Equal(text, decoded.Text);
        Assert.Equal(info.ActiveVersion, encoded.VocabularyVersion);
        // Every word of the shipped captions is one token (the default bound of 16384 is not reached).
        Assert.InRange(info.VocabularySize, 8000, 9000);
        Assert.Single((await client.EncodeAsync(new EncodeRequest { Text = " surfboard" })).Ids);
        // The vocabulary was trained into the test's own data folder.
        Assert.True(Directory.Exists(Path.Combine(mesh.DataDirectory, "models", "tokenizer", info.ActiveVersion)));
    }

    [Fact]
    public async Task A_vocabulary_event_published_by_the_tokenizer_reaches_a_consumer_in_this_process_through_the_broker()
    {
        var connectionString = await mesh.App.GetConnectionStringAsync("messaging")
            ?? throw new InvalidOperationException("no messaging connection string");
        Assert.DoesNotContain("guest:guest", connectionString);

        var received = new TaskCompletionSource<VocabularyPublished>(TaskCreationOptions.RunContinuationsAsynchronously);
        var corpus = Enumerable.Range(0, 400).Select(i => $"integration line {i} {Guid.NewGuid():N}").ToArray();
        string? expectedVersion = null;
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(connectionString));
            rabbit.ReceiveEndpoint($"it-vocabulary-{Guid.NewGuid():N}", endpoint =>
            {
                endpoint.AutoDelete = true;
                endpoint.Durable = false;
                endpoint.Handler<VocabularyPublished>(context =>
                {
                    if (context.Message.Version == Volatile.Read(ref expectedVersion) || context.Message.Lines == corpus.Length)
                    {
                        received.TrySetResult(context.Message);
                    }
                    return Task.CompletedTask;
                });
            });
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        try
        {
            var client = new Tokenizer.TokenizerClient(mesh.Channel("tokenizer"));
            using var call = client.Train();
            await call.RequestStream.WriteAsync(new TrainRequest { Lines = { corpus }, VocabularySize = 400, MinFrequency = 1 });
            await call.RequestStream.CompleteAsync();
            var trained = await call;
            Volatile.Write(ref expectedVersion, trained.Version);

            var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(trained.Version, message.Version);
            Assert.Equal(trained.CorpusSha256, message.CorpusSha256);
            Assert.False(message.Active);
        }
        finally
        {
            await bus.StopAsync();
        }
    }
}
