using LlmMesh.ModelStore;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.Serving.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmMesh.Serving.Tests;

/// <summary>Generation from an ARAE bundle: the latent generator and best-of through a discriminator (a stand-in scoring by length).</summary>
public sealed class BestOfTests : IAsyncLifetime
{
    private readonly TinyBundle _bundle = new(epochs: 2);
    private WebApplication _discriminator = null!;
    private GrpcChannel _channel = null!;
    private ModelHost<GeneratorModel> _host = null!;
    private readonly List<ScoreBatchRequest> _scored = [];

    public async Task InitializeAsync()
    {
        var arae = _bundle.PublishArae();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_scored);
        _discriminator = builder.Build();
        _discriminator.MapGrpcService<LengthDiscriminator>();
        await _discriminator.StartAsync();
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = _discriminator.GetTestServer().CreateHandler() });

        _host = new ModelHost<GeneratorModel>(new ModelCatalog(_bundle.Store), new TinyGeneratorLoader(_bundle), new AnyVocabulary(),
            Options.Create(new ServingOptions()), NullLogger<ModelHost<GeneratorModel>>.Instance);
        await _host.LoadAsync(arae.Version, CancellationToken.None);
    }

    [Fact]
    public async Task Without_a_prompt_z_comes_from_the_latent_generator_and_the_prior_stays_selectable()
    {
        var generated = await GenerateAsync(new GenerateRequest { Seed = 3, MaxTokens = 12 });
        var prior = await GenerateAsync(new GenerateRequest { Seed = 3, MaxTokens = 12, LatentSource = LatentSource.Prior });
        var explicitGenerator = await GenerateAsync(new GenerateRequest { Seed = 3, MaxTokens = 12, LatentSource = LatentSource.Generator });

        Assert.Equal("generator", generated.Final.LatentSource);
        Assert.Equal("prior", prior.Final.LatentSource);
        Assert.Equal(generated.Final.Text, explicitGenerator.Final.Text);
    }

    [Fact]
    public async Task Best_of_streams_the_candidate_the_discriminator_scores_highest()
    {
        const ulong seed = 21;
        var request = new GenerateRequest { Seed = seed, MaxTokens = 30, Temperature = 1.2, BestOf = 5 };

        var (chunks, final) = await GenerateAsync(request);

        // The same candidates, one by one: candidate 0 uses the seed, candidate i a seed derived from it.
        var texts = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var candidateSeed = i == 0 ? seed : unchecked((ulong)Seeds.Derive((long)seed, SeedStream.Samples, index: i));
            texts.Add((await GenerateAsync(new GenerateRequest(request) { Seed = candidateSeed, BestOf = 1 })).Final.Text);
        }
        var longest = texts.MaxBy(t => t.Length)!;
        Assert.Equal(longest, final.Text);
        Assert.Equal(longest, string.Concat(chunks.Select(c => c.Text)));
        Assert.Equal(5, final.Candidates);
        Assert.Equal(longest.Length, final.Score);
        Assert.Equal(seed, final.Seed);
        Assert.Equal("generator-test", final.Instance);
        var batch = Assert.Single(_scored, b => b.Inputs.Count == texts.Count(t => t.Trim().Length > 0));
        Assert.Equal(_host.Current!.Version, batch.BundleVersion);
    }

    [Fact]
    public async Task A_default_best_of_falls_back_to_one_candidate_when_the_discriminator_is_unreachable_and_a_requested_one_fails()
    {
        var recommended = RecommendedSampling.Plain with { BestOf = 4 };
        using var unreachable = GrpcChannel.ForAddress("http://127.0.0.1:1");

        var single = await GenerateAsync(new GenerateRequest { Seed = 9, MaxTokens = 20, BestOf = 1 });
        var defaulted = await GenerateAsync(new GenerateRequest { Seed = 9, MaxTokens = 20 }, recommended, unreachable);
        Assert.Equal(single.Final.Text, defaulted.Final.Text);
        Assert.Equal(0, defaulted.Final.Candidates);

        // Reachable, the same default reranks four candidates.
        Assert.Equal(4, (await GenerateAsync(new GenerateRequest { Seed = 9, MaxTokens = 20 }, recommended)).Final.Candidates);
        // Asked for by the client, best-of without its discriminator is an error, not a silent downgrade.
        var failed = await Assert.ThrowsAsync<RpcException>(() => GenerateAsync(new GenerateRequest { Seed = 9, MaxTokens = 20, BestOf = 4 }, recommended, unreachable));
        Assert.Equal(StatusCode.Unavailable, failed.StatusCode);
    }

    private async Task<(List<GenerateChunk> Chunks, GenerateFinal Final)> GenerateAsync(
        GenerateRequest request, RecommendedSampling? defaults = null, GrpcChannel? discriminatorChannel = null)
    {
        using var lease = _host.Acquire();
        var output = Channel.CreateUnbounded<GenerateResponse>();
        var engine = new GenerationEngine(
            new LlmMesh.Contracts.V1.Encoder.EncoderClient(_channel),
            new Tokenizer.TokenizerClient(_channel),
            new LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient(discriminatorChannel ?? _channel),
            new GenerationTelemetry(new TestMeterFactory()),
            Options.Create(new GeneratorOptions()),
            Options.Create(new ServingOptions { Instance = "generator-test" }));
        await engine.RunAsync(lease, GenerationRequest.From(request, new GeneratorOptions(), defaults ?? RecommendedSampling.Plain), output.Writer, CancellationToken.None);
        output.Writer.Complete();
        var responses = await output.Reader.ReadAllAsync().ToListAsync();
        return (responses.Where(r => r.Chunk is not null).Select(r => r.Chunk).ToList(), responses.Single(r => r.Final is not null).Final);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _discriminator.DisposeAsync();
        _bundle.Dispose();
    }

    private sealed class LengthDiscriminator(List<ScoreBatchRequest> scored) : LlmMesh.Contracts.V1.Discriminator.DiscriminatorBase
    {
        public override Task<ScoreBatchResponse> ScoreBatch(ScoreBatchRequest request, ServerCallContext context)
        {
            lock (scored)
            {
                scored.Add(request);
            }
            var response = new ScoreBatchResponse { BundleVersion = request.BundleVersion };
            response.Results.AddRange(request.Inputs.Select(i => new ScoreResponse { Score = i.Text.Length, Probability = 1 - 1.0 / (1 + i.Text.Length) }));
            return Task.FromResult(response);
        }
    }



}
