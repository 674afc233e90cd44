using System.Threading.Channels;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;

namespace LlmMesh.Serving.Tests;

/// <summary>A tiny bundle whose decoder was trained with codes withheld, so it is also a plain language model.</summary>
public sealed class WithheldCodesBundleFixture : IDisposable
{
    public TinyBundle Bundle { get; } = new(unconditionalRate: 0.3);

    public void Dispose() => Bundle.Dispose();
}

/// <summary>lm_weight: the decoder's own plain language model mixed into every next-token distribution, on both backends.</summary>
public sealed class LanguageModelMixServingTests(WithheldCodesBundleFixture fixture) : IClassFixture<WithheldCodesBundleFixture>, IDisposable
{
    private readonly GrpcChannel _nowhere = GrpcChannel.ForAddress("http://127.0.0.1:9");
    private readonly Lazy<ModelHost<GeneratorModel>> _torch = new(() => GenerationEngineTests.CreateHost(fixture.Bundle, ModelBackend.Torch));
    private readonly Lazy<ModelHost<GeneratorModel>> _onnx = new(() => GenerationEngineTests.CreateHost(fixture.Bundle, ModelBackend.Onnx));

    [Fact]
    public async Task At_weight_1_greedy_decoding_is_the_language_models_whatever_the_code()
    {
        var latentSize = fixture.Bundle.Bundle.Manifest.GetHyperparameters<LlmMesh.Model.VaeConfig>("model").LatentSize;
        var code = Enumerable.Range(0, latentSize).Select(i => i % 2 == 0 ? 1.5f : -1.5f).ToArray();
        var languageModel = await GenerateAsync(_torch.Value, new GenerateRequest { Latent = { new float[latentSize] }, Temperature = 0, MaxTokens = 16 });
        var decoder = await GenerateAsync(_torch.Value, new GenerateRequest { Latent = { code }, Temperature = 0, MaxTokens = 16 });
        Assert.NotEqual(languageModel, decoder);

        Assert.Equal(languageModel, await GenerateAsync(_torch.Value, new GenerateRequest { Latent = { code }, Temperature = 0, MaxTokens = 16, LmWeight = 1 }));
        Assert.Equal(decoder, await GenerateAsync(_torch.Value, new GenerateRequest { Latent = { code }, Temperature = 0, MaxTokens = 16, LmWeight = 0 }));
    }

    [Fact]
    public async Task Mixed_sampling_is_reproducible_differs_from_the_decoder_alone_and_is_the_same_on_both_backends()
    {
        var changed = 0;
        foreach (var seed in new ulong[] { 1, 2, 3, 4, 5 })
        {
            var request = new GenerateRequest { Seed = seed, MaxTokens = 24, Temperature = 0.9, LmWeight = 0.6 };
            var torch = await GenerateAsync(_torch.Value, request);
            Assert.Equal(torch, await GenerateAsync(_torch.Value, request));
            Assert.Equal(torch, await GenerateAsync(_onnx.Value, request));
            changed += torch.SequenceEqual(await GenerateAsync(_torch.Value, new GenerateRequest(request) { LmWeight = 0 })) ? 0 : 1;
        }
        Assert.True(changed >= 3, $"the language model changed {changed} of 5 samples");
    }

    private async Task<IReadOnlyList<int>> GenerateAsync(ModelHost<GeneratorModel> host, GenerateRequest request)
    {
        using var lease = host.Acquire();
        Assert.True(lease.Model.HasLanguageModel);
        var output = Channel.CreateUnbounded<GenerateResponse>();
        await GenerationEngineTests.CreateEngine(_nowhere).RunAsync(lease, GenerationRequest.From(request, new GeneratorOptions(), RecommendedSampling.Plain), output.Writer, CancellationToken.None);
        output.Writer.Complete();
        return [.. (await output.Reader.ReadAllAsync().ToListAsync()).Where(r => r.Chunk is not null).SelectMany(r => r.Chunk.TokenIds)];
    }

    public void Dispose() => _nowhere.Dispose();
}
