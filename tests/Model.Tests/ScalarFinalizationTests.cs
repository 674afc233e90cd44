using LlmMesh.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

[CollectionDefinition(nameof(ScalarFinalizationTests), DisableParallelization = true)]
public sealed class ScalarFinalizationCollection;

/// <summary>
/// No Scalar of the model library's training, evaluation or sampling reaches the finalizer. One that
/// does was made from a number and held by nobody, so a collection on another thread can free it
/// while its native op still reads it (see <see cref="HeldScalars"/>): the rare "Expected false to be
/// true" failure of a training run. Counting finalized Scalars finds every such op deterministically,
/// where a stress test only makes the race likelier. Runs alone: other tests' Scalars would count.
/// </summary>
[Collection(nameof(ScalarFinalizationTests))]
public sealed class ScalarFinalizationTests
{
    private static readonly int[][] Train = TinyData.Sentences(160, seed: 1);
    private static readonly int[][] HeldOut = TinyData.Sentences(40, seed: 2);

    [Fact]
    public void The_count_sees_a_scalar_made_from_a_number()
    {
        using var finalizations = new FinalizationCounter(typeof(Scalar));
        using var x = randn(4, 4);
        var before = finalizations.CollectAndCount();
        for (var i = 0; i < 100; i++)
        {
            (x * 0.5).Dispose();
        }
        // Every one of the 100 is garbage after the loop; a few may still sit in registers or the finalization queue's tail.
        Assert.InRange(finalizations.CollectAndCount() - before, 50, 100);
    }

    [Fact]
    public void Training_evaluating_and_sampling_leave_no_scalar_to_the_finalizer()
    {
        using var finalizations = new FinalizationCounter(typeof(Scalar));
        var before = finalizations.CollectAndCount();

        var tied = TinyData.Config with { Dropout = 0.2, TieEmbeddings = true, LatentToOutput = true };
        var untied = TinyData.Config with { Dropout = 0.2, LatentToOutput = true };
        var vaeOptions = TinyData.Options(epochs: 1) with { BagOfWordsWeight = 0.5, FreeBits = 0.5, WordDropout = 0.3, UnconditionalRate = 0.2 };
        using var vae = TrainVae(tied, vaeOptions);
        TrainVae(untied, vaeOptions).Dispose();

        var gan = new LatentGanConfig { LatentSize = tied.LatentSize, NoiseSize = 4, HiddenSize = 8 };
        var ganOptions = new AdversarialOptions { Steps = 3, BatchSize = 16, Seed = 2, PosteriorSamples = true };
        using (var regularizing = new LatentGanTrainer(gan, ganOptions with { EncoderRegularization = 0.1 }, vae, Train, vaeOptions))
        {
            TrainGan(regularizing);
        }
        using var frozen = new LatentGanTrainer(gan, ganOptions, vae, Train, vaeOptions);
        TrainGan(frozen);

        var arae = AraeEvaluation.Run(vae, frozen.LatentGenerator, frozen.Critic, Train, [.. Train.Select(s => s.Reverse().ToArray())],
            new HeldOutText(HeldOut, [.. HeldOut.Select(s => s.Reverse().ToArray())]), new TextDiscriminatorOptions(Epochs: 1, GeneratedNegatives: 40, CorruptedNegatives: 40),
            seed: 3, decode: sentences => [.. sentences.Select(s => string.Join(' ', s))]);
        var reranking = new BestOfReranking(vae, frozen.Critic, arae.TextDiscriminator, arae.Calibration);
        var samples = GenerationEvaluation.SampleBestOf(vae, frozen.LatentGenerator, reranking,
            new GenerationEvaluationOptions { Samples = 8, MaxTokens = 10, Seed = 4, BestOf = 2, TopP = 0.9, MinP = 0.05 }, mix: new LanguageModelMix(vae, 0.5));
        Assert.Equal(8, samples.Count);

        var leaked = finalizations.CollectAndCount() - before;
        Assert.True(leaked == 0, $"{leaked} Scalars reached the finalizer: an op was given a number instead of a held Scalar");
    }

    private static SentenceVae TrainVae(VaeConfig config, VaeTrainingOptions options)
    {
        using var trainer = new VaeTrainer(config, options, Train);
        for (var step = 0; step < 3; step++)
        {
            trainer.TrainStep();
        }
        Assert.True(trainer.Evaluate(HeldOut).ReconstructionPerToken > 0);
        var vae = new SentenceVae(config);
        vae.load_state_dict(trainer.Model.state_dict());
        return vae;
    }

    private static void TrainGan(LatentGanTrainer trainer)
    {
        while (!trainer.IsFinished)
        {
            Assert.True(double.IsFinite(trainer.TrainStep().CriticLoss));
        }
    }
}
