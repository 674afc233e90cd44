using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// A token-level fluency classifier: embedding + bidirectional GRU -> logit that the sentence is
/// real text (trained against word-shuffled, corrupted and generated sentences). The latent
/// critic judges codes; this judges word order, which a sentence code barely keeps.
/// </summary>
public sealed class TextDiscriminator : nn.Module
{
    private readonly Embedding embedding;
    private readonly GRU encoder;
    private readonly Linear output;

    public TextDiscriminator(TextDiscriminatorConfig config) : base(nameof(TextDiscriminator))
    {
        Config = config;
        embedding = nn.Embedding(config.VocabularySize, config.EmbeddingSize, padding_idx: config.PadId);
        encoder = nn.GRU(config.EmbeddingSize, config.HiddenSize, batchFirst: true, bidirectional: true);
        output = nn.Linear(2 * config.HiddenSize, 1);
        RegisterComponents();
    }

    public TextDiscriminatorConfig Config { get; }

    /// <summary>Logits [B] for right-padded token batches [B, T] with lengths [B].</summary>
    public Tensor Logits(Tensor tokens, Tensor lengths)
    {
        using var scope = NewDisposeScope();
        var packed = nn.utils.rnn.pack_padded_sequence(embedding.call(tokens), lengths, batch_first: true, enforce_sorted: false);
        var (_, final) = encoder.call(packed, null);
        return scope.MoveToOuter(output.call(cat([final[0], final[1]], 1)).squeeze(1));
    }

    public void ResetParameters(Generator generator)
    {
        using var noGrad = no_grad();
        embedding.weight!.normal_(0, 1, generator);
        embedding.weight[Config.PadId].zero_();
        var bound = 1.0 / Math.Sqrt(Config.HiddenSize);
        foreach (var parameter in encoder.parameters())
        {
            parameter.uniform_(-bound, bound, generator);
        }
        Initialization.Uniform([output], generator);
    }
}

/// <summary>Trains a <see cref="TextDiscriminator"/> on real (1) versus negative (0) sentences, deterministically.</summary>
public static class TextDiscriminatorTraining
{
    public static TextDiscriminator Train(
        TextDiscriminatorConfig config, IReadOnlyList<int[]> real, IReadOnlyList<int[]> negatives,
        int epochs, int batchSize, double learningRate, long seed, CancellationToken cancellationToken = default)
    {
        using var random = new Generator(0, CPU);
        var model = new TextDiscriminator(config);
        model.ResetParameters(random.manual_seed(Seeds.Derive(seed, SeedStream.TextDiscriminatorWeights, index: 0)));
        using var optimizer = new Adam(model.parameters(), learningRate);
        var sentences = real.Concat(negatives).ToArray();
        var labels = real.Select(_ => 1f).Concat(negatives.Select(_ => 0f)).ToArray();
        var batcher = new SentenceBatcher(sentences, batchSize, new VaeConfig { VocabularySize = config.VocabularySize, PadId = config.PadId });
        model.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var plan in batcher.EpochPlan(seed, epoch))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = batcher.Build(plan);
                var targets = tensor(plan.Select(i => labels[i]).ToArray());
                var loss = nn.functional.binary_cross_entropy_with_logits(model.Logits(batch.Tokens, batch.Lengths), targets);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        model.eval();
        return model;
    }

    /// <summary>Logits for sentences, in order.</summary>
    public static double[] Score(TextDiscriminator model, IReadOnlyList<int[]> sentences, int batchSize = 256)
    {
        using var inference = inference_mode();
        model.eval();
        if (sentences.Any(s => s.Length == 0))
        {
            throw new ArgumentException("sentences to score must not be empty");
        }
        var usable = sentences;
        var batcher = new SentenceBatcher(usable, batchSize, new VaeConfig { VocabularySize = model.Config.VocabularySize, PadId = model.Config.PadId });
        var scores = new double[sentences.Count];
        foreach (var plan in Enumerable.Range(0, usable.Count).Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            using var batch = batcher.Build(plan);
            var logits = model.Logits(batch.Tokens, batch.Lengths).data<float>().ToArray();
            for (var i = 0; i < plan.Length; i++)
            {
                scores[plan[i]] = logits[i];
            }
        }
        return scores;
    }
}
