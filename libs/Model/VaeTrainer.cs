using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

public sealed record StepMetrics(
    long Step, int Epoch, double ReconstructionPerSentence, double ReconstructionPerToken,
    double KlPerSentence, double KlWeight, double Loss, int Tokens, double Seconds);

/// <param name="NllPerToken">Negative ELBO per token (an upper bound on the NLL), KL weight 1.</param>
/// <param name="ReconstructionAccuracy">Next-token accuracy with z = mu and the true previous tokens.</param>
/// <param name="GreedyReconstructionAccuracy">Position-wise accuracy of greedy decoding from mu.</param>
/// <param name="ActiveUnits">Latent dimensions whose E[z|x] varies across sentences (variance over 0.01).</param>
public sealed record EvaluationMetrics(
    double NllPerToken,
    double Perplexity,
    double ReconstructionPerToken,
    double KlPerSentence,
    double ReconstructionAccuracy,
    double GreedyReconstructionAccuracy,
    int ActiveUnits,
    int Sentences,
    long Tokens);

/// <summary>Where a run is: the next batch to train is <see cref="BatchInEpoch"/> of <see cref="Epoch"/>.</summary>
public sealed record TrainingPosition(long Step, int Epoch, int BatchInEpoch);

/// <summary>
/// Trains a <see cref="SentenceVae"/> step by step, deterministically from the seed: batch order
/// comes from (seed, epoch) and all randomness of a step from (seed, step), so a run resumed
/// from a checkpoint continues exactly as an uninterrupted one.
/// </summary>
public sealed class VaeTrainer : IDisposable
{
    private const string WeightsFile = "model.pt";
    private const string OptimizerFile = "optimizer.pt";
    private const string StateFile = "trainer.json";
    private const string BagOfWordsFile = "bag-of-words.pt";

    private readonly VaeTrainingOptions _options;
    private readonly SentenceBatcher _batcher;
    private readonly Adam _optimizer;
    private readonly Generator _generator = new(0, CPU);
    private readonly BagOfWordsHead? _bagOfWords;
    private readonly Parameter[] _trainable;
    private int[][] _epochPlan;

    public VaeTrainer(VaeConfig config, VaeTrainingOptions options, IReadOnlyList<int[]> trainingSentences)
    {
        options.Validate();
        _options = options;
        Model = new SentenceVae(config);
        Model.ResetParameters(_generator.manual_seed(Seeds.Derive(options.Seed, SeedStream.VaeWeights, index: 0)));
        // A plain language model's code is zero: there is nothing for the bag-of-words loss to shape (the trainer service refuses the pair).
        _bagOfWords = options.BagOfWordsWeight > 0 && config.UsesLatent
            ? new BagOfWordsHead(config, _generator.manual_seed(Seeds.Derive(options.Seed, SeedStream.VaeWeights, index: 1)))
            : null;
        _trainable = [.. Model.parameters(), .. _bagOfWords?.parameters() ?? []];
        _optimizer = new Adam(_trainable, options.LearningRate);
        _batcher = new SentenceBatcher(Truncate(trainingSentences, options.MaxSentenceTokens), options.BatchSize, config);
        TotalSteps = StepsFor(options, _batcher.SentenceCount);
        Position = new TrainingPosition(0, 0, 0);
        _epochPlan = _batcher.EpochPlan(options.Seed, 0);
    }

    public SentenceVae Model { get; }

    /// <summary>Optimizer steps a run of these options takes over <paramref name="sentences"/> training sentences.</summary>
    public static long StepsFor(VaeTrainingOptions options, int sentences) =>
        options.Steps > 0 ? options.Steps : (long)options.Epochs * ((sentences + options.BatchSize - 1) / options.BatchSize);

    public VaeTrainingOptions Options => _options;

    public long TotalSteps { get; }

    public int BatchesPerEpoch => _batcher.BatchesPerEpoch;

    public TrainingPosition Position { get; private set; }

    public bool IsFinished => Position.Step >= TotalSteps;

    public StepMetrics TrainStep()
    {
        if (IsFinished)
        {
            throw new InvalidOperationException("the run has no steps left");
        }
        var started = Stopwatch.GetTimestamp();
        var (step, epoch, batchIndex) = Position;
        var beta = KlAnnealing.Weight(_options, step, TotalSteps);
        Model.train();
        _generator.manual_seed(Seeds.Derive(_options.Seed, SeedStream.VaeStep, step));
        using var batch = _batcher.Build(_epochPlan[batchIndex]);
        double recon, kl, loss;
        using (var scope = NewDisposeScope())
        {
            var (mu, logVar) = Model.Encode(batch.Tokens, batch.Lengths, dropout: _generator);
            var z = SentenceVae.Reparameterize(mu, logVar, _generator);
            var inputs = ApplyWordDropout(batch.DecoderInputs, _options.WordDropout, Model.Config, _generator);
            var decoderCodes = z;
            var klPerDimension = KlPerDimension(mu, logVar);
            var klPerSentence = klPerDimension.sum(1).mean();
            var chargedKl = klPerDimension;
            if (_options.UnconditionalRate > 0 && Model.Config.UsesLatent)
            {
                // These rows train p(x): no code, and no word dropout, which only exists to make the decoder use the code.
                var withheld = rand(batch.Size, generator: _generator).LessThan(_options.UnconditionalRate);
                decoderCodes = z.MaskedFill(withheld.unsqueeze(1), 0.0);
                inputs = where(withheld.unsqueeze(1), batch.DecoderInputs, inputs);
                // A code the decoder did not read is not charged for its nats.
                chargedKl = klPerDimension.index_select(0, withheld.logical_not().nonzero().squeeze(1));
            }
            var logits = Model.Decode(inputs, decoderCodes, dropout: _generator);
            var reconstruction = ReconstructionSum(logits, batch.Targets, Model.Config.PadId).Over(batch.Size);
            // A plain language model has no code to keep nats in: a free-bits floor would only add a constant to its loss.
            var klTerm = chargedKl.shape[0] == 0 ? zeros(1).sum() : KlTerm(chargedKl, Model.Config.UsesLatent ? _options.FreeBits : 0);
            var total = reconstruction.Plus(klTerm.Times(beta));
            if (_bagOfWords is not null)
            {
                total = total.Plus(_bagOfWords.LossPerSentence(z, batch.Targets, Model.Config.PadId).Times(_options.BagOfWordsWeight));
            }

            foreach (var group in _optimizer.ParamGroups)
            {
                group.LearningRate = _options.LearningRateAt(step, TotalSteps);
            }
            _optimizer.zero_grad();
            total.backward();
            nn.utils.clip_grad_norm_(_trainable, _options.GradientClip);
            _optimizer.step();
            recon = reconstruction.item<float>();
            kl = klPerSentence.item<float>();
            loss = total.item<float>();
        }

        var nextBatch = batchIndex + 1;
        var nextEpoch = epoch;
        if (nextBatch == _epochPlan.Length)
        {
            nextBatch = 0;
            nextEpoch++;
            _epochPlan = _batcher.EpochPlan(_options.Seed, nextEpoch);
        }
        Position = new TrainingPosition(step + 1, nextEpoch, nextBatch);
        return new StepMetrics(step + 1, epoch, recon, recon * batch.Size / batch.TokenCount, kl, beta, loss,
            batch.TokenCount, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public EvaluationMetrics Evaluate(IReadOnlyList<int[]> sentences) =>
        VaeEvaluation.Evaluate(Model, Truncate(sentences, _options.MaxSentenceTokens), _options.BatchSize, _options.Seed);

    public void SaveCheckpoint(string directory)
    {
        Directory.CreateDirectory(directory);
        Model.save(Path.Combine(directory, WeightsFile));
        _optimizer.save_state_dict(Path.Combine(directory, OptimizerFile));
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(Position));
        _bagOfWords?.save(Path.Combine(directory, BagOfWordsFile));
    }

    public void LoadCheckpoint(string directory)
    {
        Model.load(Path.Combine(directory, WeightsFile));
        _bagOfWords?.load(Path.Combine(directory, BagOfWordsFile));
        _optimizer.load_state_dict(Path.Combine(directory, OptimizerFile));
        Position = JsonSerializer.Deserialize<TrainingPosition>(File.ReadAllText(Path.Combine(directory, StateFile)))
            ?? throw new InvalidDataException("the checkpoint has no training position");
        _epochPlan = _batcher.EpochPlan(_options.Seed, Position.Epoch);
    }

    internal static Tensor ReconstructionSum(Tensor logits, Tensor targets, int padId) =>
        nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[2]), targets.reshape(-1), ignore_index: padId, reduction: nn.Reduction.Sum);

    internal static Tensor KlPerDimension(Tensor mu, Tensor logVar) => (mu.Squared().Plus(logVar.exp()).Minus(1) - logVar).Times(0.5);

    /// <summary>
    /// The KL term of the loss. With free bits, each dimension's batch-averaged KL counts at least
    /// <paramref name="freeBits"/> nats, so the optimizer gains nothing by pushing it lower.
    /// </summary>
    internal static Tensor KlTerm(Tensor klPerDimension, double freeBits) =>
        freeBits > 0 ? klPerDimension.mean([0]).ClampMin(freeBits).sum() : klPerDimension.sum(1).mean();

    /// <summary>Replaces decoder input tokens (never &lt;bos&gt; or padding) with &lt;unk&gt; with probability <paramref name="rate"/>.</summary>
    internal static Tensor ApplyWordDropout(Tensor inputs, double rate, VaeConfig config, Generator generator)
    {
        if (rate <= 0)
        {
            return inputs;
        }
        var drop = rand(inputs.shape, generator: generator).LessThan(rate)
            .logical_and(inputs.NotEqualTo(config.PadId))
            .logical_and(inputs.NotEqualTo(config.BosId));
        return inputs.MaskedFill(drop, (long)config.UnkId);
    }

    private static IReadOnlyList<int[]> Truncate(IReadOnlyList<int[]> sentences, int maxTokens) =>
        sentences.Where(s => s.Length > 0).Select(s => s.Length > maxTokens ? s[..maxTokens] : s).ToArray();

    public void Dispose()
    {
        _generator.Dispose();
        _optimizer.Dispose();
        _bagOfWords?.Dispose();
        Model.Dispose();
    }
}
