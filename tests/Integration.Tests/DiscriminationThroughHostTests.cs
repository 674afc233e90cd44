using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class DiscriminationThroughHostTests(MeshFixture mesh)
{
    private readonly Discriminator.DiscriminatorClient _discriminator = new(mesh.Channel("discriminator"));
    private readonly Generator.GeneratorClient _generator = new(mesh.Channel("generator"));

    [Fact]
    public async Task An_adversarial_run_publishes_a_bundle_the_discriminator_and_generator_serve()
    {
        var version = await mesh.AraeBundleAsync();

        var info = await _discriminator.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal("arae", info.Kind);
        Assert.Contains("fluency_auc", info.Metrics.Keys);

        var batch = new ScoreBatchRequest
        {
            Inputs =
            {
                new ScoreInput { Text = "a man riding a horse on a beach" },
                new ScoreInput { Text = "beach a on horse riding man a" },
                new ScoreInput { Latent = new LatentVector { Values = { new float[8] } } },
            },
        };
        var scored = await _discriminator.ScoreBatchAsync(batch);
        Assert.Equal(version, scored.BundleVersion);
        Assert.Equal(3, scored.Results.Count);
        Assert.All(scored.Results, r => Assert.InRange(r.Probability, 0, 1));
        Assert.NotEqual(0, scored.Results[0].Fluency);

        using var stream = _discriminator.Score();
        await stream.RequestStream.WriteAsync(new ScoreRequest { Text = "two dogs play in the snow" });
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(version, stream.ResponseStream.Current.BundleVersion);
        await stream.RequestStream.WriteAsync(new ScoreRequest { Latent = new LatentVector { Values = { new float[8] } } });
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        await stream.RequestStream.CompleteAsync();

        var unconditioned = await CollectAsync(new GenerateRequest { Seed = 2, MaxTokens = 12 });
        Assert.Equal("generator", unconditioned.LatentSource);
        var prior = await CollectAsync(new GenerateRequest { Seed = 2, MaxTokens = 12, LatentSource = LatentSource.Prior });
        Assert.Equal("prior", prior.LatentSource);
        var best = await CollectAsync(new GenerateRequest { Seed = 2, MaxTokens = 16, BestOf = 3 });
        Assert.Equal(3, best.Candidates);
        Assert.Equal(version, best.BundleVersion);
        Assert.InRange(best.Probability, 0, 1);
    }

    [Fact]
    public async Task Bad_score_inputs_are_invalid_arguments()
    {
        await mesh.AraeBundleAsync();
        foreach (var (input, mention) in new (ScoreInput, string)[]
        {
            (new ScoreInput { Latent = new LatentVector { Values = { 1f, 2f, 3f } } }, "latent has 3 values"),
            (new ScoreInput { Latent = new LatentVector { Values = { 0, 0, float.NaN, 0, 0, 0, 0, 0 } } }, "latent[2]"),
            (new ScoreInput { Latent = new LatentVector { Values = { 0, 0, 0, float.PositiveInfinity, 0, 0, 0, 0 } } }, "latent[3]"),
            (new ScoreInput { Text = "" }, "text is empty"),
            (new ScoreInput { Text = "   " }, "text is empty"),
            (new ScoreInput(), "input"),
        })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => _discriminator.ScoreBatchAsync(new ScoreBatchRequest { Inputs = { input } }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains(mention, error.Status.Detail);
        }
        var none = await Assert.ThrowsAsync<RpcException>(() => _discriminator.ScoreBatchAsync(new ScoreBatchRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, none.StatusCode);

        using var stream = _discriminator.Score();
        await stream.RequestStream.WriteAsync(new ScoreRequest { Latent = new LatentVector { Values = { 1f } } });
        var streamed = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, streamed.StatusCode);

        var badBestOf = await Assert.ThrowsAsync<RpcException>(() => CollectAsync(new GenerateRequest { BestOf = 17 }));
        Assert.Equal(StatusCode.InvalidArgument, badBestOf.StatusCode);
        Assert.StartsWith("best_of", badBestOf.Status.Detail);
    }

    private async Task<GenerateFinal> CollectAsync(GenerateRequest request)
    {
        using var call = _generator.Generate(request, deadline: DateTime.UtcNow.AddSeconds(60));
        GenerateFinal? final = null;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            final = response.Final ?? final;
        }
        return final ?? throw new InvalidOperationException("no final message");
    }
}
