using LlmMesh.Serving.Backends;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.Serving.Onnx;
using LlmMesh.Serving.Torch;

namespace LlmMesh.Serving.Tests;

public sealed class OnnxDecoderStepTests(TinyBundleFixture fixture) : IClassFixture<TinyBundleFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("llmmesh-onnx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("latent")]
    [InlineData("plain language model")]
    [InlineData("tied embeddings")]
    [InlineData("latent to output")]
    [InlineData("latent to tied output")]
    public void The_exported_decoder_on_onnx_runtime_agrees_with_torch_within_1e_4(string kind)
    {
        using var trained = BundleModules.LoadVae(fixture.Bundle.Bundle);
        using var vae = kind switch
        {
            "plain language model" => new SentenceVae(trained.Config with { UsesLatent = false }),
            // Tied output weights are folded into one output layer on export; dropout is for training only.
            "tied embeddings" => new SentenceVae(trained.Config with { TieEmbeddings = true, Dropout = 0.5 }),
            "latent to output" => new SentenceVae(trained.Config with { TieEmbeddings = false, LatentToOutput = true }),
            "latent to tied output" => new SentenceVae(trained.Config with { TieEmbeddings = true, LatentToOutput = true }),
            _ => null,
        };
        var model = vae ?? trained;
        if (kind == "plain language model")
        {
            vae!.load_state_dict(trained.state_dict());
        }
        else if (vae is not null)
        {
            vae.ResetParameters(new TorchSharp.torch.Generator(11, TorchSharp.torch.CPU));
            vae.eval();
        }
        OnnxExport.WriteVae(model, _directory);
        var torch = new TorchDecoderStep(model); // not disposed: the test disposes the models
        using var onnx = new OnnxDecoderStep(Path.Combine(_directory, OnnxGraphs.DecoderStepFile), Path.Combine(_directory, OnnxGraphs.DecoderInitFile), threads: 1);
        Assert.Equal((torch.LatentSize, torch.StateSize, torch.VocabularySize), (onnx.LatentSize, onnx.StateSize, onnx.VocabularySize));

        const int count = 4;
        var random = new Random(7);
        var z = Enumerable.Range(0, count * torch.LatentSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (torchState, onnxState) = (new float[count * torch.StateSize], new float[count * torch.StateSize]);
        torch.InitialStates(z, count, torchState);
        onnx.InitialStates(z, count, onnxState);
        AssertClose(torchState, onnxState, 1e-5f);

        var tokens = Enumerable.Repeat(model.Config.BosId, count).ToArray();
        var (torchLogits, onnxLogits) = (new float[count * torch.VocabularySize], new float[count * torch.VocabularySize]);
        var (torchNext, onnxNext) = (new float[torchState.Length], new float[onnxState.Length]);
        for (var step = 0; step < 20; step++) // tokens fed back, as in generation
        {
            torch.Step(tokens, torchState, z, count, torchLogits, torchNext);
            onnx.Step(tokens, onnxState, z, count, onnxLogits, onnxNext);
            AssertClose(torchLogits, onnxLogits, 1e-4f);
            AssertClose(torchNext, onnxNext, 1e-5f);
            for (var i = 0; i < count; i++)
            {
                // Greedy among ordinary tokens (ids from 4 on).
                var row = torchLogits.AsSpan(i * torch.VocabularySize, torch.VocabularySize);
                tokens[i] = 4 + System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row[4..]);
            }
            (torchState, torchNext) = (torchNext, torchState);
            (onnxState, onnxNext) = (onnxNext, onnxState);
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        var worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= tolerance, $"largest difference {worst} > {tolerance}");
    }

    [Fact]
    public void The_exported_latent_generator_agrees_with_torch()
    {
        var arae = fixture.Bundle.PublishArae(seed: 9);
        using var torch = new TorchLatentGenerator(BundleModules.LoadLatentGenerator(arae));
        using var onnx = new OnnxLatentGenerator(arae.PathOf(OnnxGraphs.LatentGeneratorFile), threads: 1);
        var random = new Random(4);
        for (var i = 0; i < 5; i++)
        {
            var noise = Enumerable.Range(0, torch.NoiseSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            AssertClose(torch.Generate(noise), onnx.Generate(noise), 1e-5f);
        }
    }

    [Fact]
    public void A_bundle_without_onnx_graphs_is_refused_by_the_onnx_backend_with_the_way_out()
    {
        var source = fixture.Bundle.Bundle;
        var store = fixture.Bundle.Store;
        var bare = store.Publish(source.Manifest with { RunId = "noonnx" },
            directory => File.Copy(source.PathOf(VaeBundle.WeightsFile), Path.Combine(directory, VaeBundle.WeightsFile)));
        var opened = store.Open(bare.Version, VaeBundle.Kind);
        var error = Assert.Throws<LlmMesh.ModelStore.BundleIncompatibleException>(() =>
            GeneratorModel.Load(opened, null, ModelBackends.Create(new BackendOptions { Backend = ModelBackend.Onnx }), new LlmMesh.Serving.Batching.BatchingOptions()));
        Assert.Contains("Torch backend", error.Message);
        using var torch = GeneratorModel.Load(opened, null, ModelBackends.Create(new BackendOptions { Backend = ModelBackend.Torch }), new LlmMesh.Serving.Batching.BatchingOptions());
        Assert.Equal(ModelBackend.Torch, torch.Backend);
    }
}
