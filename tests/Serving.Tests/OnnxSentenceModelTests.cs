using LlmMesh.Model;
using LlmMesh.Serving.Onnx;
using static TorchSharp.torch;

namespace LlmMesh.Serving.Tests;

/// <summary>The exported encoder, critic and fluency discriminator on ONNX Runtime against TorchSharp on the same weights.</summary>
public sealed class OnnxSentenceModelTests(TinyBundleFixture fixture) : IClassFixture<TinyBundleFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("llmmesh-onnx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Real sentences of different lengths in one batch (padding must not leak into either direction).</summary>
    private IReadOnlyList<int[]> Sentences() => [.. fixture.Bundle.Sentences.Take(7), [5], fixture.Bundle.Sentences[20].Concat(fixture.Bundle.Sentences[21]).ToArray()];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_exported_encoder_agrees_with_torch_within_1e_4(bool usesLatent)
    {
        using var trained = BundleModules.LoadVae(fixture.Bundle.Bundle);
        using var plain = usesLatent ? null : new SentenceVae(trained.Config with { UsesLatent = false });
        plain?.load_state_dict(trained.state_dict());
        var vae = plain ?? trained;
        File.WriteAllBytes(Path.Combine(_directory, OnnxGraphs.EncoderFile), OnnxExport.Encoder(vae));
        using var onnx = new OnnxSentenceEncoder(Path.Combine(_directory, OnnxGraphs.EncoderFile), threads: 1);
        Assert.Equal(vae.Config.LatentSize, onnx.LatentSize);

        var sentences = Sentences();
        var (mu, logVar) = onnx.Encode(sentences);
        var (torchMu, torchLogVar) = TorchEncode(vae, sentences);
        AssertClose(torchMu, mu);
        AssertClose(torchLogVar, logVar);
        Assert.Equal(usesLatent, mu.Any(row => row.Any(v => v != 0)));
        // A sentence's code does not depend on the batch it came in.
        var (alone, _) = onnx.Encode([sentences[2]]);
        AssertClose([mu[2]], alone);
    }

    [Fact]
    public void The_exported_critic_and_fluency_discriminator_agree_with_torch_within_1e_4()
    {
        var arae = fixture.Bundle.PublishArae(seed: 11);
        using var critic = BundleModules.LoadCritic(arae);
        using var fluency = BundleModules.LoadTextDiscriminator(arae);
        using var onnxCritic = new OnnxLatentCritic(arae.PathOf(OnnxGraphs.CriticFile), threads: 1);
        using var onnxFluency = new OnnxSentenceClassifier(arae.PathOf(OnnxGraphs.TextDiscriminatorFile), threads: 1);

        var random = new Random(3);
        var codes = Enumerable.Range(0, 9).Select(_ => Enumerable.Range(0, critic.Config.LatentSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToArray();
        using (NewDisposeScope())
        {
            var expected = AraeEvaluation.CriticScores(critic, tensor(codes.SelectMany(c => c).ToArray(), [codes.Length, critic.Config.LatentSize]));
            AssertClose([expected.Select(s => (float)s).ToArray()], [onnxCritic.Score(codes).Select(s => (float)s).ToArray()]);
        }
        var sentences = Sentences();
        var fluencyExpected = TextDiscriminatorTraining.Score(fluency, sentences);
        AssertClose([fluencyExpected.Select(s => (float)s).ToArray()], [onnxFluency.Score(sentences).Select(s => (float)s).ToArray()]);
        Assert.Empty(onnxCritic.Score([]));
        Assert.Throws<ArgumentException>(() => onnxCritic.Score([new float[critic.Config.LatentSize + 1]]));
        Assert.Throws<ArgumentException>(() => onnxFluency.Score([[4, 5], []]));
    }

    [Fact]
    public void Every_arae_bundle_carries_all_five_graphs()
    {
        var arae = fixture.Bundle.PublishArae(seed: 12);
        foreach (var file in new[] { OnnxGraphs.EncoderFile, OnnxGraphs.DecoderStepFile, OnnxGraphs.DecoderInitFile, OnnxGraphs.LatentGeneratorFile, OnnxGraphs.CriticFile, OnnxGraphs.TextDiscriminatorFile })
        {
            Assert.True(arae.Manifest.Files.ContainsKey(file), file);
        }
    }

    private static (float[][] Mu, float[][] LogVar) TorchEncode(SentenceVae vae, IReadOnlyList<int[]> sentences)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var batcher = new SentenceBatcher(sentences, sentences.Count, vae.Config);
        using var batch = batcher.Build(Enumerable.Range(0, sentences.Count).ToArray());
        var (mu, logVar) = vae.Encode(batch.Tokens, batch.Lengths);
        float[][] Rows(Tensor m) => Enumerable.Range(0, sentences.Count).Select(r => m[r].data<float>().ToArray()).ToArray();
        return (Rows(mu), Rows(logVar));
    }

    private static void AssertClose(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual).Max(rows => rows.First.Zip(rows.Second).Max(p => Math.Abs(p.First - p.Second)));
        Assert.True(worst <= 1e-4f, $"largest difference {worst} > 1e-4");
    }
}
