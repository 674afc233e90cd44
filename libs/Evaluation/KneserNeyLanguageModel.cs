namespace LlmMesh.Evaluation;

/// <summary>
/// An interpolated modified Kneser-Ney n-gram language model (Chen and Goodman 1998, the estimate
/// KenLM builds): three discounts per order from count-of-counts, continuation counts for the
/// lower orders (raw counts for n-grams that begin with &lt;s&gt;), interpolated down to a uniform
/// distribution over the vocabulary so that unseen words (scored as &lt;unk&gt;) keep a finite
/// probability. Sentences are scored with &lt;s&gt; before and &lt;/s&gt; after; &lt;/s&gt; counts
/// as a predicted token in the perplexity.
/// </summary>
public sealed class KneserNeyLanguageModel
{
    private const int StartId = 0;
    private const int EndId = 1;
    private const int UnknownId = 2;

    private readonly WordVocabulary _vocabulary;
    private readonly Dictionary<UInt128, int>[] _counts;
    private readonly Dictionary<UInt128, ContextStats>[] _contexts;
    private readonly double[][] _discounts;

    private KneserNeyLanguageModel(int order, WordVocabulary vocabulary, Dictionary<UInt128, int>[] counts)
    {
        Order = order;
        _vocabulary = vocabulary;
        _counts = counts;
        _contexts = new Dictionary<UInt128, ContextStats>[order + 1];
        _discounts = new double[order + 1][];
        for (var k = 1; k <= order; k++)
        {
            _discounts[k] = Discounts(counts[k].Values);
            var contexts = _contexts[k] = new Dictionary<UInt128, ContextStats>();
            foreach (var (key, count) in counts[k])
            {
                var context = k == 1 ? UInt128.Zero : NGramKey.Context(key);
                if (!contexts.TryGetValue(context, out var stats))
                {
                    contexts[context] = stats = new ContextStats();
                }
                stats.Add(NGramKey.Last(key), count);
            }
            foreach (var stats in contexts.Values)
            {
                stats.Freeze(_discounts[k]);
            }
        }
    }

    public int Order { get; }

    /// <summary>Distinct words the model was trained on, with &lt;/s&gt; and &lt;unk&gt;.</summary>
    public int VocabularySize => _vocabulary.Count - 1;

    /// <summary>The id a word is scored as (&lt;unk&gt;'s for words the model never saw).</summary>
    internal int WordId(string word) => _vocabulary.TryGet(word, out var id) ? id : UnknownId;

    public static KneserNeyLanguageModel Train(IEnumerable<string[]> sentences, int order = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, 5);
        var vocabulary = new WordVocabulary();
        vocabulary.GetOrAdd("<s>");
        vocabulary.GetOrAdd("</s>");
        vocabulary.GetOrAdd("<unk>");
        var raw = Enumerable.Range(0, order + 1).Select(_ => new Dictionary<UInt128, int>()).ToArray();
        var any = false;
        foreach (var words in sentences)
        {
            var padded = new int[words.Length + 2];
            padded[0] = StartId;
            for (var i = 0; i < words.Length; i++)
            {
                padded[i + 1] = vocabulary.GetOrAdd(words[i]);
            }
            padded[^1] = EndId;
            for (var end = 1; end < padded.Length; end++)
            {
                for (var k = 1; k <= order && end - k + 1 >= 0; k++)
                {
                    var key = NGramKey.Pack(padded.AsSpan(end - k + 1, k));
                    raw[k][key] = raw[k].GetValueOrDefault(key) + 1;
                }
            }
            any = true;
        }
        if (!any)
        {
            throw new ArgumentException("a language model needs at least one training sentence", nameof(sentences));
        }

        // Lower orders count distinct left extensions; an n-gram that begins with <s> has none and keeps its raw count.
        var adjusted = new Dictionary<UInt128, int>[order + 1];
        adjusted[order] = raw[order];
        for (var k = order - 1; k >= 1; k--)
        {
            var extensions = new Dictionary<UInt128, int>();
            foreach (var longer in raw[k + 1].Keys)
            {
                var suffix = NGramKey.Suffix(longer, k + 1);
                extensions[suffix] = extensions.GetValueOrDefault(suffix) + 1;
            }
            adjusted[k] = raw[k].ToDictionary(p => p.Key, p => NGramKey.First(p.Key, k) == StartId ? p.Value : extensions[p.Key]);
        }
        return new KneserNeyLanguageModel(order, vocabulary, adjusted);
    }

    /// <summary>Natural-log probability of each word of the sentence and of the &lt;/s&gt; after it.</summary>
    public double LogProbability(string[] words, out int predictedTokens)
    {
        var ids = new int[words.Length + 2];
        ids[0] = StartId;
        for (var i = 0; i < words.Length; i++)
        {
            ids[i + 1] = WordId(words[i]);
        }
        ids[^1] = EndId;
        var total = 0.0;
        for (var position = 1; position < ids.Length; position++)
        {
            var historyStart = Math.Max(0, position - (Order - 1));
            total += Math.Log(Probability(ids[position], ids.AsSpan(historyStart, position - historyStart)));
        }
        predictedTokens = ids.Length - 1;
        return total;
    }

    /// <summary>exp of the mean negative log-probability per predicted token (words and &lt;/s&gt;).</summary>
    public double Perplexity(IEnumerable<string[]> sentences)
    {
        double logProbability = 0;
        long tokens = 0;
        foreach (var sentence in sentences)
        {
            logProbability += LogProbability(sentence, out var predicted);
            tokens += predicted;
        }
        if (tokens == 0)
        {
            throw new ArgumentException("perplexity needs at least one sentence", nameof(sentences));
        }
        return Math.Exp(-logProbability / tokens);
    }

    /// <summary>P(word | history), the history being at most Order - 1 ids.</summary>
    internal double Probability(int word, ReadOnlySpan<int> history)
    {
        var probability = 1.0 / VocabularySize;
        for (var k = 1; k <= history.Length + 1; k++)
        {
            var context = NGramKey.Pack(history[(history.Length - (k - 1))..]);
            if (!_contexts[k].TryGetValue(context, out var stats))
            {
                break; // a longer context ending in an unseen one is unseen too
            }
            var count = _counts[k].GetValueOrDefault(NGramKey.Append(context, word));
            probability = (Math.Max(count - Discount(k, count), 0) + stats.BackoffMass * probability) / stats.Total;
        }
        return probability;
    }

    /// <summary>Draws a sentence from the model (for n-gram baselines); &lt;unk&gt; is never drawn.</summary>
    public string[] Sample(Random random, int maxWords)
    {
        var history = new List<int> { StartId };
        var words = new List<string>();
        while (words.Count < maxWords)
        {
            var word = SampleWord(random, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(history)[Math.Max(0, history.Count - (Order - 1))..]);
            if (word == EndId)
            {
                break;
            }
            history.Add(word);
            words.Add(_vocabulary[word]);
        }
        return words.ToArray();
    }

    private int SampleWord(Random random, ReadOnlySpan<int> history)
    {
        var k = history.Length + 1;
        while (k >= 1 && !_contexts[k].ContainsKey(NGramKey.Pack(history[(history.Length - (k - 1))..])))
        {
            k--;
        }
        // Interpolation as a mixture: keep this order's discounted counts, or fall to the next lower order.
        for (; k >= 1; k--)
        {
            var stats = _contexts[k][NGramKey.Pack(history[(history.Length - (k - 1))..])];
            var draw = random.NextDouble() * stats.Total;
            if (draw >= stats.Total - stats.BackoffMass)
            {
                continue;
            }
            foreach (var (word, count) in stats.Continuations)
            {
                draw -= Math.Max(count - Discount(k, count), 0);
                if (draw < 0)
                {
                    return word;
                }
            }
        }
        var uniform = random.Next(VocabularySize - 1);
        return uniform == 0 ? EndId : uniform + UnknownId;
    }

    private double Discount(int order, int count) => count == 0 ? 0 : _discounts[order][Math.Min(count, 3)];

    /// <summary>Chen and Goodman's D1, D2, D3+ from the counts of counts (safe defaults when a count of counts is missing).</summary>
    private static double[] Discounts(IEnumerable<int> counts)
    {
        var n = new long[5];
        foreach (var count in counts)
        {
            if (count <= 4)
            {
                n[count]++;
            }
        }
        double[] fallback = [0, 0.5, 1.0, 1.5];
        if (n[1] == 0 || n[2] == 0 || n[3] == 0 || n[4] == 0)
        {
            return fallback;
        }
        var y = n[1] / (n[1] + 2.0 * n[2]);
        double[] discounts = [0, 1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]];
        for (var i = 1; i <= 3; i++)
        {
            if (!(discounts[i] > 0 && discounts[i] <= i))
            {
                return fallback;
            }
        }
        return discounts;
    }

    private sealed class ContextStats
    {
        private readonly int[] _byCount = new int[4];

        public List<(int Word, int Count)> Continuations { get; } = [];

        public long Total { get; private set; }

        /// <summary>D1 N1 + D2 N2 + D3+ N3+: the count mass handed to the lower order.</summary>
        public double BackoffMass { get; private set; }

        public void Add(int word, int count)
        {
            Continuations.Add((word, count));
            Total += count;
            _byCount[Math.Min(count, 3)]++;
        }

        public void Freeze(double[] discounts) =>
            BackoffMass = discounts[1] * _byCount[1] + discounts[2] * _byCount[2] + discounts[3] * _byCount[3];
    }
}
