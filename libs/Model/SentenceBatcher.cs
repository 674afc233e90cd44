using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>A batch of sentences as the VAE consumes them.</summary>
public sealed class SentenceBatch(Tensor tokens, Tensor lengths, Tensor decoderInputs, Tensor targets, int tokenCount) : IDisposable
{
    /// <summary>[B, T] sentence ids, right-padded (encoder input).</summary>
    public Tensor Tokens { get; } = tokens;
    /// <summary>[B] sentence lengths (at least 1).</summary>
    public Tensor Lengths { get; } = lengths;
    /// <summary>[B, T+1] &lt;bos&gt; followed by the ids.</summary>
    public Tensor DecoderInputs { get; } = decoderInputs;
    /// <summary>[B, T+1] the ids followed by &lt;eos&gt;; padding is &lt;pad&gt;.</summary>
    public Tensor Targets { get; } = targets;
    /// <summary>Predicted tokens in the batch (ids plus one &lt;eos&gt; per sentence).</summary>
    public int TokenCount { get; } = tokenCount;
    public long Size => Tokens.shape[0];

    public void Dispose()
    {
        Tokens.Dispose();
        Lengths.Dispose();
        DecoderInputs.Dispose();
        Targets.Dispose();
    }
}

/// <summary>
/// Groups sentences of similar length into batches (little padding) and orders them for an epoch
/// from the seed alone, so any epoch's batches can be rebuilt when a run resumes.
/// </summary>
public sealed class SentenceBatcher
{
    private readonly IReadOnlyList<int[]> _sentences;
    private readonly int _batchSize;
    private readonly VaeConfig _config;

    public SentenceBatcher(IReadOnlyList<int[]> sentences, int batchSize, VaeConfig config)
    {
        if (sentences.Count == 0 || sentences.Any(s => s.Length == 0))
        {
            throw new ArgumentException("sentences must be non-empty");
        }
        _sentences = sentences;
        _batchSize = batchSize;
        _config = config;
    }

    public int BatchesPerEpoch => (_sentences.Count + _batchSize - 1) / _batchSize;

    public int SentenceCount => _sentences.Count;

    /// <summary>The sentence indices of every batch of an epoch, in training order.</summary>
    public int[][] EpochPlan(long seed, int epoch)
    {
        var random = new Random(Seeds.DeriveInt(seed, SeedStream.BatchOrder, epoch));
        var tieBreak = Enumerable.Range(0, _sentences.Count).Select(_ => random.Next()).ToArray();
        var byLength = Enumerable.Range(0, _sentences.Count)
            .OrderBy(i => _sentences[i].Length)
            .ThenBy(i => tieBreak[i])
            .ToArray();
        var batches = byLength.Chunk(_batchSize).ToArray();
        random.Shuffle(batches);
        return batches;
    }

    /// <summary>Fixed batches in corpus order grouped by length (evaluation).</summary>
    public int[][] EvaluationPlan() =>
        Enumerable.Range(0, _sentences.Count).OrderBy(i => _sentences[i].Length).ThenBy(i => i).Chunk(_batchSize).ToArray();

    public SentenceBatch Build(IReadOnlyList<int> indices)
    {
        var count = indices.Count;
        var maxLength = indices.Max(i => _sentences[i].Length);
        var tokens = new long[count * maxLength];
        var inputs = new long[count * (maxLength + 1)];
        var targets = new long[count * (maxLength + 1)];
        var lengths = new long[count];
        Array.Fill(tokens, _config.PadId);
        Array.Fill(inputs, _config.PadId);
        Array.Fill(targets, _config.PadId);
        var tokenCount = 0;
        for (var b = 0; b < count; b++)
        {
            var sentence = _sentences[indices[b]];
            lengths[b] = sentence.Length;
            inputs[b * (maxLength + 1)] = _config.BosId;
            for (var t = 0; t < sentence.Length; t++)
            {
                tokens[b * maxLength + t] = sentence[t];
                inputs[b * (maxLength + 1) + t + 1] = sentence[t];
                targets[b * (maxLength + 1) + t] = sentence[t];
            }
            targets[b * (maxLength + 1) + sentence.Length] = _config.EosId;
            tokenCount += sentence.Length + 1;
        }
        return new SentenceBatch(
            tensor(tokens, [count, maxLength]),
            tensor(lengths),
            tensor(inputs, [count, maxLength + 1]),
            tensor(targets, [count, maxLength + 1]),
            tokenCount);
    }
}
