using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>How the latent GAN is trained (WGAN-GP, ARAE-style); stored in bundles.</summary>
public sealed record AdversarialOptions
{
    /// <summary>Generator updates.</summary>
    public long Steps { get; init; } = 2000;
    /// <summary>Critic updates per generator update.</summary>
    public int CriticSteps { get; init; } = 5;
    public int BatchSize { get; init; } = 64;
    public double CriticLearningRate { get; init; } = 1e-4;
    public double GeneratorLearningRate { get; init; } = 1e-4;
    public double GradientPenaltyWeight { get; init; } = 10;
    /// <summary>
    /// ARAE's encoder regularisation: the encoder also follows the critic's gradient, scaled by
    /// this (0 = off), while the autoencoder keeps training so that decoding stays good.
    /// </summary>
    public double EncoderRegularization { get; init; }
    /// <summary>
    /// True: real codes are posterior samples z ~ q(z|x), the codes the decoder was trained on;
    /// false: posterior means (ARAE's deterministic codes).
    /// </summary>
    public bool PosteriorSamples { get; init; }
    public long Seed { get; init; } = 1;

    public void Validate()
    {
        static void Require(bool valid, string message)
        {
            if (!valid)
            {
                throw new ArgumentException(message);
            }
        }
        Require(Steps is > 0 and <= 10_000_000, $"adversarial_steps must be between 1 and 10000000, not {Steps}");
        Require(CriticSteps is > 0 and <= 100, $"critic_steps must be between 1 and 100, not {CriticSteps}");
        Require(BatchSize is > 1 and <= 4096, $"adversarial_batch_size must be between 2 and 4096, not {BatchSize}");
        Require(double.IsFinite(CriticLearningRate) && CriticLearningRate is > 0 and <= 1, $"critic_learning_rate must be in (0, 1], not {CriticLearningRate}");
        Require(double.IsFinite(GeneratorLearningRate) && GeneratorLearningRate is > 0 and <= 1, $"generator_learning_rate must be in (0, 1], not {GeneratorLearningRate}");
        Require(double.IsFinite(GradientPenaltyWeight) && GradientPenaltyWeight is >= 0 and <= 1000, $"gradient_penalty must be in [0, 1000], not {GradientPenaltyWeight}");
        Require(double.IsFinite(EncoderRegularization) && EncoderRegularization is >= 0 and <= 100, $"encoder_regularization must be in [0, 100], not {EncoderRegularization}");
    }
}

public sealed record AdversarialStepMetrics(
    long Step, double CriticLoss, double WassersteinEstimate, double GradientPenalty, double GeneratorLoss, double Seconds);

public sealed record AdversarialPosition(long Step);

/// <summary>
/// Trains a latent generator against a critic with WGAN-GP on the VAE's codes of real sentences
/// (the posterior means, deterministic codes as in ARAE): the critic learns to tell real codes
/// from generated ones, the generator to fool it. Deterministic from the seed; checkpoints resume
/// exactly.
/// </summary>
public sealed class LatentGanTrainer : IDisposable
{
    private const string StateFile = "adversarial.json";
    private readonly AdversarialOptions _options;
    private readonly SentenceVae _vae;
    private readonly SentenceBatcher _sentences;
    private readonly VaeTrainingOptions _vaeOptions;
    private readonly Adam _criticOptimizer;
    private readonly Adam _generatorOptimizer;
    private readonly Adam? _autoencoderOptimizer;
    private readonly Generator _random = new(0, CPU);
    private Tensor? _frozenCodes;
    private Tensor? _frozenLogVariances;

    /// <param name="vae">The trained VAE whose codes are "real"; trained further only with encoder regularisation.</param>
    /// <param name="sentences">Training sentences (token ids).</param>
    public LatentGanTrainer(LatentGanConfig config, AdversarialOptions options, SentenceVae vae, IReadOnlyList<int[]> sentences, VaeTrainingOptions vaeOptions)
    {
        options.Validate();
        _options = options;
        _vae = vae;
        _vaeOptions = vaeOptions;
        _sentences = new SentenceBatcher(sentences.Where(s => s.Length > 0).Select(s => s.Length > vaeOptions.MaxSentenceTokens ? s[..vaeOptions.MaxSentenceTokens] : s).ToArray(),
            options.BatchSize, vae.Config);
        LatentGenerator = new LatentGenerator(config);
        Critic = new LatentCritic(config);
        _random.manual_seed(Seeds.Derive(options.Seed, SeedStream.GanWeights, index: 0));
        LatentGenerator.ResetParameters(_random);
        Critic.ResetParameters(_random);
        // Adam betas (0.5, 0.9) as in the WGAN-GP paper.
        _criticOptimizer = new Adam(Critic.parameters(), options.CriticLearningRate, beta1: 0.5, beta2: 0.9);
        _generatorOptimizer = new Adam(LatentGenerator.parameters(), options.GeneratorLearningRate, beta1: 0.5, beta2: 0.9);
        if (options.EncoderRegularization > 0)
        {
            _autoencoderOptimizer = new Adam(vae.parameters(), vaeOptions.LearningRate);
        }
        Position = new AdversarialPosition(0);
    }

    public LatentGenerator LatentGenerator { get; }

    public LatentCritic Critic { get; }

    public AdversarialOptions Options => _options;

    public AdversarialPosition Position { get; private set; }

    public bool IsFinished => Position.Step >= _options.Steps;

    public AdversarialStepMetrics TrainStep()
    {
        if (IsFinished)
        {
            throw new InvalidOperationException("the adversarial phase has no steps left");
        }
        var started = Stopwatch.GetTimestamp();
        var step = Position.Step;
        _random.manual_seed(Seeds.Derive(_options.Seed, SeedStream.GanStep, step));
        Critic.train();
        LatentGenerator.train();
        double criticLoss = 0, wasserstein = 0, penalty = 0, generatorLoss;
        using (var scope = NewDisposeScope())
        {
            for (var k = 0; k < _options.CriticSteps; k++)
            {
                var real = RealCodes(withGradient: false);
                Tensor fake;
                using (no_grad())
                {
                    fake = LatentGenerator.call(Noise(real.shape[0]));
                }
                var realScore = Critic.call(real).mean();
                var fakeScore = Critic.call(fake).mean();
                var gp = GradientPenalty(Critic.call, real, fake, rand(real.shape[0], 1, generator: _random));
                var loss = (fakeScore - realScore).Plus(gp.Times(_options.GradientPenaltyWeight));
                _criticOptimizer.zero_grad();
                loss.backward();
                _criticOptimizer.step();
                criticLoss += loss.item<float>() / _options.CriticSteps;
                wasserstein += (realScore - fakeScore).item<float>() / _options.CriticSteps;
                penalty += gp.item<float>() / _options.CriticSteps;
            }

            var generated = LatentGenerator.call(Noise(_options.BatchSize));
            var generatorObjective = -Critic.call(generated).mean();
            _generatorOptimizer.zero_grad();
            generatorObjective.backward();
            _generatorOptimizer.step();
            generatorLoss = generatorObjective.item<float>();

            if (_autoencoderOptimizer is not null)
            {
                RegularizeEncoder();
            }
        }
        Position = new AdversarialPosition(step + 1);
        return new AdversarialStepMetrics(step + 1, criticLoss, wasserstein, penalty, generatorLoss, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// WGAN-GP's penalty (Gulrajani et al. 2017): E[(||grad D(x_hat)||_2 - 1)^2] at
    /// x_hat = eps * real + (1 - eps) * fake, one eps per row.
    /// </summary>
    public static Tensor GradientPenalty(Func<Tensor, Tensor> critic, Tensor real, Tensor fake, Tensor epsilon)
    {
        var mixed = (epsilon * real.detach()).Plus(epsilon.Subtracted(1) * fake.detach()).requires_grad_(true);
        var scores = critic(mixed);
        var gradients = autograd.grad([scores.sum()], [mixed], retain_graph: true, create_graph: true)[0];
        return gradients.norm(1, keepdim: false, p: 2.0f).Minus(1).Squared().mean();
    }

    /// <summary>Codes from the latent generator for noise drawn from <paramref name="random"/>.</summary>
    public Tensor Generate(int count, Generator random)
    {
        using var inference = inference_mode();
        LatentGenerator.eval();
        return LatentGenerator.call(randn(count, LatentGenerator.Config.NoiseSize, generator: random));
    }

    public void SaveCheckpoint(string directory)
    {
        Directory.CreateDirectory(directory);
        LatentGenerator.save(Path.Combine(directory, "latent-generator.pt"));
        Critic.save(Path.Combine(directory, "latent-critic.pt"));
        _generatorOptimizer.save_state_dict(Path.Combine(directory, "generator-optimizer.pt"));
        _criticOptimizer.save_state_dict(Path.Combine(directory, "critic-optimizer.pt"));
        if (_autoencoderOptimizer is not null)
        {
            _vae.save(Path.Combine(directory, "vae.pt"));
            _autoencoderOptimizer.save_state_dict(Path.Combine(directory, "vae-optimizer.pt"));
        }
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(Position));
    }

    public void LoadCheckpoint(string directory)
    {
        LatentGenerator.load(Path.Combine(directory, "latent-generator.pt"));
        Critic.load(Path.Combine(directory, "latent-critic.pt"));
        _generatorOptimizer.load_state_dict(Path.Combine(directory, "generator-optimizer.pt"));
        _criticOptimizer.load_state_dict(Path.Combine(directory, "critic-optimizer.pt"));
        if (_autoencoderOptimizer is not null)
        {
            _vae.load(Path.Combine(directory, "vae.pt"));
            _autoencoderOptimizer.load_state_dict(Path.Combine(directory, "vae-optimizer.pt"));
        }
        Position = JsonSerializer.Deserialize<AdversarialPosition>(File.ReadAllText(Path.Combine(directory, StateFile)))
            ?? throw new InvalidDataException("the checkpoint has no adversarial position");
    }

    private Tensor Noise(long count) => randn(count, LatentGenerator.Config.NoiseSize, generator: _random);

    /// <summary>Codes (posterior means) of a random batch of training sentences.</summary>
    private Tensor RealCodes(bool withGradient)
    {
        if (_autoencoderOptimizer is null)
        {
            // The encoder is frozen: encode the corpus once, then sample rows.
            if (_frozenCodes is null)
            {
                var (means, logVariances) = EncodeAll();
                (_frozenCodes, _frozenLogVariances) = (means.DetachFromDisposeScope(), logVariances.DetachFromDisposeScope());
            }
            var rows = randint(_frozenCodes.shape[0], [_options.BatchSize], generator: _random);
            var mu = _frozenCodes.index_select(0, rows);
            return _options.PosteriorSamples ? SentenceVae.Reparameterize(mu, _frozenLogVariances!.index_select(0, rows), _random) : mu;
        }
        using var batch = RandomBatch();
        using var gradient = withGradient ? null : no_grad();
        _vae.eval();
        var (batchMu, batchLogVar) = _vae.Encode(batch.Tokens, batch.Lengths);
        return _options.PosteriorSamples ? SentenceVae.Reparameterize(batchMu, batchLogVar, _random) : batchMu;
    }

    private (Tensor Means, Tensor LogVariances) EncodeAll()
    {
        using var inference = no_grad();
        _vae.eval();
        var (means, logVariances) = (new List<Tensor>(), new List<Tensor>());
        foreach (var plan in _sentences.EvaluationPlan())
        {
            using var batch = _sentences.Build(plan);
            var (mu, logVar) = _vae.Encode(batch.Tokens, batch.Lengths);
            means.Add(mu);
            logVariances.Add(logVar);
        }
        return (cat(means, 0), cat(logVariances, 0));
    }

    private SentenceBatch RandomBatch()
    {
        var count = _sentences.SentenceCount;
        var indices = randint(count, [_options.BatchSize], generator: _random).data<long>().ToArray().Select(i => (int)i).ToArray();
        return _sentences.Build(indices);
    }

    /// <summary>ARAE: one autoencoder step, then the encoder moves its codes along the critic's reversed gradient.</summary>
    private void RegularizeEncoder()
    {
        _vae.train();
        using (var batch = RandomBatch())
        {
            var (mu, logVar) = _vae.Encode(batch.Tokens, batch.Lengths, dropout: _random);
            var z = SentenceVae.Reparameterize(mu, logVar, _random);
            var inputs = VaeTrainer.ApplyWordDropout(batch.DecoderInputs, _vaeOptions.WordDropout, _vae.Config, _random);
            var reconstruction = VaeTrainer.ReconstructionSum(_vae.Decode(inputs, z, dropout: _random), batch.Targets, _vae.Config.PadId).Over(batch.Size);
            var loss = reconstruction.Plus(VaeTrainer.KlTerm(VaeTrainer.KlPerDimension(mu, logVar), _vaeOptions.FreeBits).Times(_vaeOptions.KlMaxWeight));
            _autoencoderOptimizer!.zero_grad();
            loss.backward();
            _autoencoderOptimizer.step();
        }
        var real = RealCodes(withGradient: true);
        var adversarial = Critic.call(real).mean().Times(_options.EncoderRegularization);
        _autoencoderOptimizer!.zero_grad();
        adversarial.backward();
        _autoencoderOptimizer.step();
        Critic.zero_grad();
    }

    public void Dispose()
    {
        _frozenCodes?.Dispose();
        _frozenLogVariances?.Dispose();
        _random.Dispose();
        _criticOptimizer.Dispose();
        _generatorOptimizer.Dispose();
        _autoencoderOptimizer?.Dispose();
        LatentGenerator.Dispose();
        Critic.Dispose();
    }
}
