using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class GradientPenaltyTests
{
    [Fact]
    public void The_penalty_of_a_quadratic_critic_matches_the_hand_computed_value()
    {
        // D(x) = sum(x^2): grad = 2 x_hat, so the penalty is mean((2 ||x_hat|| - 1)^2).
        var real = tensor(new float[] { 1f, 0f, 0f, 2f }, [2, 2]);
        var fake = tensor(new float[] { 0f, 0f, 0f, 0f }, [2, 2]);
        var epsilon = tensor(new float[] { 0.5f, 0.25f }, [2, 1]);
        // x_hat rows: (0.5, 0) and (0, 0.5): norms 0.5 and 0.5 -> gradient norms 1 and 1 -> penalty 0.
        Assert.Equal(0f, LatentGanTrainer.GradientPenalty(x => (x * x).sum(1), real, fake, epsilon).item<float>(), precision: 6);

        var epsilon2 = tensor(new float[] { 1f, 1f }, [2, 1]);
        // x_hat = real: norms 1 and 2 -> gradient norms 2 and 4 -> ((2-1)^2 + (4-1)^2) / 2 = 5.
        Assert.Equal(5f, LatentGanTrainer.GradientPenalty(x => (x * x).sum(1), real, fake, epsilon2).item<float>(), precision: 5);
    }

    [Fact]
    public void The_penalty_of_a_linear_critic_is_the_squared_gap_of_its_weight_norm_to_one()
    {
        var weight = tensor(new float[] { 3f, 4f });
        var real = randn(5, 2);
        var fake = randn(5, 2);
        var penalty = LatentGanTrainer.GradientPenalty(x => x.matmul(weight), real, fake, rand(5, 1));
        Assert.Equal(16f, penalty.item<float>(), precision: 4); // (5 - 1)^2
    }

    [Fact]
    public void The_penalty_trains_the_critic_through_a_second_order_graph()
    {
        var weight = tensor(new float[] { 3f, 4f }).requires_grad_();
        var penalty = LatentGanTrainer.GradientPenalty(x => x.matmul(weight), randn(4, 2), randn(4, 2), rand(4, 1));
        penalty.backward();
        // d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * (0.6, 0.8).
        Assert.Equal([4.8f, 6.4f], weight.grad!.data<float>().ToArray().Select(v => MathF.Round(v, 4)));
    }
}

public sealed class LatentGanTests : IDisposable
{
    private readonly int[][] _train = TinyData.Sentences(400, seed: 1);
    private readonly int[][] _heldOut = TinyData.Sentences(120, seed: 2);
    private readonly SentenceVae _vae;
    private readonly string _directory = Directory.CreateTempSubdirectory("llmmesh-gan-").FullName;

    public LatentGanTests()
    {
        // A light KL weight: real codes spread less than N(0, I), as a trained VAE's posterior means do.
        using var trainer = new VaeTrainer(TinyData.Config, TinyData.Options(seed: 3, epochs: 6) with { FreeBits = 0.5, KlMaxWeight = 0.3 }, _train);
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
        }
        trainer.SaveCheckpoint(_directory);
        _vae = new SentenceVae(TinyData.Config);
        _vae.load(Path.Combine(_directory, "model.pt"));
    }

    private static LatentGanConfig GanConfig => new() { LatentSize = TinyData.Config.LatentSize, NoiseSize = 8, HiddenSize = 32 };

    private static AdversarialOptions GanOptions(long steps = 1000) => new() { Steps = steps, BatchSize = 32, CriticLearningRate = 1e-3, GeneratorLearningRate = 1e-3, Seed = 4 };

    [Fact]
    public void The_critic_scores_held_out_real_codes_above_prior_samples()
    {
        using var gan = Train(GanOptions());

        var real = AraeEvaluation.CriticScores(gan.Critic, AraeEvaluation.Encode(_vae, _heldOut));
        var prior = AraeEvaluation.CriticScores(gan.Critic, randn(_heldOut.Length, TinyData.Config.LatentSize, generator: new Generator(9, CPU)));

        // The behaviour: the critic ranks real codes above prior samples (AUC above chance). Over ten
        // VAE and GAN seeds of this setup (one thread) the AUC ranged from 0.86 to 0.99 and the mean
        // score gap from 0.73 to 1.00; CPU kernels move the AUC as much as a seed does (0.80 on an
        // AVX-512 EPYC with two threads): a threshold inside that spread fails on some machines, so
        // the test asserts the ranking.
        var auc = LogisticCalibration.Auc(real, prior);
        Assert.True(auc > 0.5, $"AUC {auc:F3}");
        Assert.True(real.Average() > prior.Average(), $"mean critic score: real {real.Average():F3}, prior {prior.Average():F3}");
    }

    [Fact]
    public void The_generator_moves_towards_the_real_codes()
    {
        using var gan = new LatentGanTrainer(GanConfig, GanOptions(), _vae, _train, TinyData.Options());
        var real = AraeEvaluation.Encode(_vae, _heldOut);
        using var random = new Generator(5, CPU);
        var before = MomentDistance(gan.Generate(500, random), real);
        var steps = new List<AdversarialStepMetrics>();
        while (!gan.IsFinished)
        {
            steps.Add(gan.TrainStep());
        }
        var after = MomentDistance(gan.Generate(500, random), real);

        // Generated codes take on the mean and spread of the real ones: over ten VAE and GAN seeds the
        // distance fell to 0.05-0.20 of where it started; the bound is 0.5.
        Assert.True(after < before / 2, $"moment distance {before:F3} -> {after:F3}");
        Assert.All(steps, s => Assert.True(double.IsFinite(s.CriticLoss) && double.IsFinite(s.GeneratorLoss) && s.GradientPenalty >= 0));
    }

    private static float MomentDistance(Tensor generated, Tensor real) =>
        generated.mean([0]).sub(real.mean([0])).norm().item<float>() + generated.std(0).sub(real.std(0)).norm().item<float>();


    [Fact]
    public void Adversarial_training_resumes_exactly_from_a_checkpoint()
    {
        var options = GanOptions(steps: 40);
        using var straight = Train(options);

        using (var first = new LatentGanTrainer(GanConfig, options, _vae, _train, TinyData.Options()))
        {
            for (var i = 0; i < 17; i++)
            {
                first.TrainStep();
            }
            first.SaveCheckpoint(Path.Combine(_directory, "gan"));
        }
        using var resumed = new LatentGanTrainer(GanConfig, options, _vae, _train, TinyData.Options());
        resumed.LoadCheckpoint(Path.Combine(_directory, "gan"));
        while (!resumed.IsFinished)
        {
            resumed.TrainStep();
        }

        Assert.Equal(Weights(straight.LatentGenerator), Weights(resumed.LatentGenerator));
        Assert.Equal(Weights(straight.Critic), Weights(resumed.Critic));
    }

    [Fact]
    public void Encoder_regularisation_moves_the_encoder_and_keeps_it_decoding()
    {
        var before = TinyData.Weights(_vae);
        var vaeOptions = TinyData.Options();
        using var gan = new LatentGanTrainer(GanConfig, GanOptions(steps: 20) with { EncoderRegularization = 0.1 }, _vae, _train, vaeOptions);
        while (!gan.IsFinished)
        {
            gan.TrainStep();
        }
        Assert.NotEqual(before, TinyData.Weights(_vae));
        // Ten seeds: held-out NLL 1.77-1.98 per token after regularisation; a model that stopped
        // decoding would sit near uniform over 60 tokens (4.09).
        var nll = VaeEvaluation.Evaluate(_vae, _heldOut, 64, 1).NllPerToken;
        Assert.True(nll < 3.0, $"held-out NLL {nll:F3}");
    }

    private LatentGanTrainer Train(AdversarialOptions options)
    {
        var gan = new LatentGanTrainer(GanConfig, options, _vae, _train, TinyData.Options());
        while (!gan.IsFinished)
        {
            gan.TrainStep();
        }
        return gan;
    }

    private static float[] Weights(nn.Module module) => module.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    public void Dispose()
    {
        _vae.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class DiscriminationTests
{
    [Fact]
    public void Logistic_calibration_recovers_a_known_relationship()
    {
        var random = new Random(1);
        var features = new List<double[]>();
        var labels = new List<bool>();
        for (var i = 0; i < 4000; i++)
        {
            var x = random.NextDouble() * 8 - 4;
            features.Add([x]);
            labels.Add(random.NextDouble() < 1 / (1 + Math.Exp(-(2 * x - 1))));
        }

        var calibration = LogisticCalibration.Fit(features, labels);

        Assert.InRange(calibration.Weights[0], 1.7, 2.3);
        Assert.InRange(calibration.Bias, -1.3, -0.7);
        Assert.InRange(calibration.Probability(0.5), 0.45, 0.55);
    }

    [Fact]
    public void Calibration_stays_finite_when_the_classes_separate_perfectly()
    {
        var calibration = LogisticCalibration.Fit([[1.0], [2.0], [-1.0], [-2.0]], [true, true, false, false]);
        Assert.True(double.IsFinite(calibration.Weights[0]) && double.IsFinite(calibration.Bias));
        Assert.True(calibration.Probability(2) > 0.5 && calibration.Probability(-2) < 0.5);
    }

    [Fact]
    public void Auc_counts_pairs_and_ties()
    {
        Assert.Equal(1.0, LogisticCalibration.Auc([3, 4], [1, 2]));
        Assert.Equal(0.0, LogisticCalibration.Auc([1], [2]));
        Assert.Equal(0.5, LogisticCalibration.Auc([1], [1]));
        Assert.Equal(0.75, LogisticCalibration.Auc([2, 4], [1, 3]));
    }

    [Fact]
    public void The_text_discriminator_learns_word_order()
    {
        // Real sentences follow a pattern; the negatives are the same tokens in shuffled order.
        var real = TinyData.Sentences(500, seed: 1).Where(s => s.Length >= 4).ToArray();
        var random = new Random(2);
        int[][] Shuffle(IEnumerable<int[]> sentences) => sentences.Select(s => { var c = s.ToArray(); random.Shuffle(c); return c; }).ToArray();
        var discriminator = TextDiscriminatorTraining.Train(new TextDiscriminatorConfig { VocabularySize = TinyData.VocabularySize, EmbeddingSize = 16, HiddenSize = 32 },
            real, Shuffle(real), epochs: 4, batchSize: 32, learningRate: 3e-3, seed: 1);

        var heldOut = TinyData.Sentences(200, seed: 7).Where(s => s.Length >= 4).ToArray();
        var auc = LogisticCalibration.Auc(TextDiscriminatorTraining.Score(discriminator, heldOut), TextDiscriminatorTraining.Score(discriminator, Shuffle(heldOut)));
        // Training seeds 1-10: AUC 0.992-0.999; word order unlearnt would give 0.5.
        Assert.True(auc >= 0.9, $"AUC {auc:F3}");
    }
}
