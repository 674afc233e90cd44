using LlmMesh.Evaluation;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>The held-out sentences of a run, split in two: one half calibrates, the other measures.</summary>
/// <param name="Real">Held-out sentences (token ids).</param>
/// <param name="Shuffled">The same sentences with their words shuffled (aligned with <paramref name="Real"/>; empty where shuffling changes nothing).</param>
public sealed record HeldOutText(IReadOnlyList<int[]> Real, IReadOnlyList<int[]> Shuffled);

public sealed record TextDiscriminatorOptions(int Epochs, int BatchSize = 64, double LearningRate = 1e-3, int GeneratedNegatives = 2000, int CorruptedNegatives = 2000);

public sealed record AraeEvaluationResult(TextDiscriminator TextDiscriminator, DiscriminatorCalibration Calibration, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// The evaluation phase of an ARAE run: trains the text discriminator, calibrates the critic and
/// the combined text score on half of the held-out data, and measures on the other half how well
/// they separate real from generated codes and real from word-shuffled sentences; also compares
/// samples decoded from the prior and from the latent generator (distinct-1/2, mean length).
/// </summary>
public static class AraeEvaluation
{
    public const int SamplesPerSource = 1000;
    private const int MaxSampleTokens = 48;

    /// <param name="decode">Token ids to text (through the tokenizer), for word-level diversity.</param>
    /// <param name="samplesPerSource">Samples from the prior and from the latent generator compared (at most <see cref="SamplesPerSource"/>).</param>
    public static AraeEvaluationResult Run(
        SentenceVae vae, LatentGenerator generator, LatentCritic critic,
        IReadOnlyList<int[]> training, IReadOnlyList<int[]> shuffledTraining, HeldOutText heldOut,
        TextDiscriminatorOptions textOptions, long seed, Func<int[][], IReadOnlyList<string>> decode,
        int samplesPerSource = SamplesPerSource, CancellationToken cancellationToken = default)
    {
        using var random = new Generator(0, CPU);
        random.manual_seed(Seeds.Derive(seed, SeedStream.AdversarialEvaluation, index: 0));
        var metrics = new Dictionary<string, double>();

        // Text discriminator: real training sentences against shuffled, generated and corrupted ones.
        // A fifth of the training set of each kind (at most the configured counts): shuffled lines stay the main negatives.
        var generatedNegatives = VaeSampler.Sample(vae, Generate(generator, Math.Min(textOptions.GeneratedNegatives, training.Count / 5 + 1), random),
            MaxSampleTokens, 1.0, random).Where(s => s.Length > 0).ToArray();
        var corrupted = Corrupt(training, Math.Min(textOptions.CorruptedNegatives, training.Count / 5 + 1), seed);
        var negatives = shuffledTraining.Where(s => s.Length > 0).Concat(generatedNegatives).Concat(corrupted).ToArray();
        var textDiscriminator = TextDiscriminatorTraining.Train(
            new TextDiscriminatorConfig { VocabularySize = vae.Config.VocabularySize, PadId = vae.Config.PadId },
            training, negatives, textOptions.Epochs, textOptions.BatchSize, textOptions.LearningRate, seed, cancellationToken);

        // Held-out halves: calibrate on the first, measure on the second.
        var pairs = Enumerable.Range(0, heldOut.Real.Count).Where(i => heldOut.Real[i].Length > 0).ToArray();
        var calibrationHalf = pairs.Where((_, n) => n % 2 == 0).ToArray();
        var testHalf = pairs.Where((_, n) => n % 2 == 1).ToArray();

        var realCalibrationScores = CriticScores(critic, Encode(vae, Select(heldOut.Real, calibrationHalf)));
        var generatedCalibrationScores = CriticScores(critic, Generate(generator, calibrationHalf.Length, random));
        var latent = LogisticCalibration.Fit(
            realCalibrationScores.Concat(generatedCalibrationScores).Select(s => new[] { s }).ToArray(),
            realCalibrationScores.Select(_ => true).Concat(generatedCalibrationScores.Select(_ => false)).ToArray());

        var realTest = CriticScores(critic, Encode(vae, Select(heldOut.Real, testHalf)));
        var generatedTest = CriticScores(critic, Generate(generator, testHalf.Length, random));
        var priorTest = CriticScores(critic, randn(testHalf.Length, vae.Config.LatentSize, generator: random));
        metrics["critic_accuracy"] = (realTest.Count(s => latent.Probability(s) > 0.5) + generatedTest.Count(s => latent.Probability(s) <= 0.5))
            / (double)(realTest.Length + generatedTest.Length);
        metrics["critic_auc_real_vs_generated"] = LogisticCalibration.Auc(realTest, generatedTest);
        metrics["critic_auc_real_vs_prior"] = LogisticCalibration.Auc(realTest, priorTest);

        // Combined text score: critic on the code of the text and the text discriminator's logit.
        var shuffledCalibration = calibrationHalf.Where(i => heldOut.Shuffled[i].Length > 0).Select(i => heldOut.Shuffled[i]).ToArray();
        var generatedText = VaeSampler.Sample(vae, Generate(generator, calibrationHalf.Length, random), MaxSampleTokens, 1.0, random)
            .Where(s => s.Length > 0).ToArray();
        var realFeatures = TextFeatures(vae, critic, textDiscriminator, Select(heldOut.Real, calibrationHalf));
        var fakeFeatures = TextFeatures(vae, critic, textDiscriminator, shuffledCalibration.Concat(generatedText).ToArray());
        var text = LogisticCalibration.Fit(
            realFeatures.Concat(fakeFeatures).ToArray(),
            realFeatures.Select(_ => true).Concat(fakeFeatures.Select(_ => false)).ToArray());

        var fluencyPairs = testHalf.Where(i => heldOut.Shuffled[i].Length > 0).ToArray();
        var realFluency = TextFeatures(vae, critic, textDiscriminator, Select(heldOut.Real, fluencyPairs)).Select(f => text.Probability(f)).ToArray();
        var shuffledFluency = TextFeatures(vae, critic, textDiscriminator, Select(heldOut.Shuffled, fluencyPairs)).Select(f => text.Probability(f)).ToArray();
        metrics["fluency_auc"] = LogisticCalibration.Auc(realFluency, shuffledFluency);
        metrics["text_discriminator_auc"] = LogisticCalibration.Auc(
            TextDiscriminatorTraining.Score(textDiscriminator, Select(heldOut.Real, fluencyPairs)),
            TextDiscriminatorTraining.Score(textDiscriminator, Select(heldOut.Shuffled, fluencyPairs)));

        // How real the discriminator finds held-out text, text related to it (a prompt at variation 1,
        // temperature 1, as prompt_bleu4 measures) and unconditioned samples (temperature 1).
        double MeanProbability(IReadOnlyList<int[]> sentences) =>
            TextFeatures(vae, critic, textDiscriminator, sentences.Where(s => s.Length > 0).ToArray()).Select(f => text.Probability(f)).DefaultIfEmpty(0).Average();
        var prompts = Select(heldOut.Real, testHalf);
        if (prompts.Length > 0)
        {
            var (promptMu, promptLogVar) = EncodePosterior(vae, prompts);
            metrics["heldout_probability"] = MeanProbability(prompts);
            metrics["prompt_probability"] = MeanProbability(
                VaeSampler.Sample(vae, SentenceVae.Reparameterize(promptMu, promptLogVar, random), MaxSampleTokens, 1.0, random));
            metrics["generated_probability"] = MeanProbability(VaeSampler.Sample(vae, Generate(generator, prompts.Length, random), MaxSampleTokens, 1.0, random));
        }

        // Samples from the prior versus from the latent generator.
        var compared = Math.Min(samplesPerSource, SamplesPerSource);
        foreach (var (source, z) in new[]
        {
            ("prior", randn(compared, vae.Config.LatentSize, generator: random)),
            ("gan", Generate(generator, compared, random)),
        })
        {
            cancellationToken.ThrowIfCancellationRequested();
            var words = decode(VaeSampler.Sample(vae, z, MaxSampleTokens, 1.0, random))
                .Select(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
            metrics[$"{source}_distinct_1"] = TextQuality.Distinct(words, 1);
            metrics[$"{source}_distinct_2"] = TextQuality.Distinct(words, 2);
            metrics[$"{source}_mean_length"] = words.Average(w => w.Length);
        }
        return new AraeEvaluationResult(textDiscriminator, new DiscriminatorCalibration(latent, text), metrics);
    }

    /// <summary>[critic(mu(text)), text logit] per sentence: the features of the combined text score.</summary>
    public static double[][] TextFeatures(SentenceVae vae, LatentCritic critic, TextDiscriminator textDiscriminator, IReadOnlyList<int[]> sentences)
    {
        if (sentences.Count == 0)
        {
            return [];
        }
        var latent = CriticScores(critic, Encode(vae, sentences));
        var fluency = TextDiscriminatorTraining.Score(textDiscriminator, sentences);
        return latent.Select((s, i) => new[] { s, fluency[i] }).ToArray();
    }

    public static double[] CriticScores(LatentCritic critic, Tensor codes)
    {
        using var inference = inference_mode();
        critic.eval();
        return critic.call(codes).data<float>().ToArray().Select(v => (double)v).ToArray();
    }

    /// <summary>Posterior means of sentences.</summary>
    public static Tensor Encode(SentenceVae vae, IReadOnlyList<int[]> sentences) => EncodePosterior(vae, sentences).Mu;

    /// <summary>Posterior means and log-variances of sentences, in their order.</summary>
    public static (Tensor Mu, Tensor LogVar) EncodePosterior(SentenceVae vae, IReadOnlyList<int[]> sentences)
    {
        using var inference = inference_mode();
        vae.eval();
        var batcher = new SentenceBatcher(sentences, 256, vae.Config);
        var means = new Tensor[sentences.Count];
        var logVariances = new Tensor[sentences.Count];
        foreach (var plan in Enumerable.Range(0, sentences.Count).Chunk(256))
        {
            using var batch = batcher.Build(plan);
            var (mu, logVar) = vae.Encode(batch.Tokens, batch.Lengths);
            for (var i = 0; i < plan.Length; i++)
            {
                (means[plan[i]], logVariances[plan[i]]) = (mu[i], logVar[i]);
            }
        }
        return (stack(means), stack(logVariances));
    }

    private static Tensor Generate(LatentGenerator generator, int count, Generator random)
    {
        using var inference = inference_mode();
        generator.eval();
        return generator.call(randn(count, generator.Config.NoiseSize, generator: random));
    }

    /// <summary>Sentences with two adjacent tokens swapped: locally ungrammatical negatives.</summary>
    private static int[][] Corrupt(IReadOnlyList<int[]> sentences, int count, long seed)
    {
        var random = new Random(Seeds.DeriveInt(seed, SeedStream.CorruptedNegatives, index: 0));
        var candidates = sentences.Where(s => s.Length >= 3).ToArray();
        return Enumerable.Range(0, Math.Min(count, candidates.Length)).Select(_ =>
        {
            var copy = candidates[random.Next(candidates.Length)].ToArray();
            var at = random.Next(copy.Length - 1);
            (copy[at], copy[at + 1]) = (copy[at + 1], copy[at]);
            return copy;
        }).ToArray();
    }

    private static int[][] Select(IReadOnlyList<int[]> sentences, IEnumerable<int> indices) => indices.Select(i => sentences[i]).ToArray();
}
