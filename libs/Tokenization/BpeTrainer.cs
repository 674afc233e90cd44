using System.Security.Cryptography;
using System.Text;

namespace LlmMesh.Tokenization;

/// <summary>
/// Trains a byte-level BPE vocabulary. Deterministic: ties between equally frequent pairs are
/// broken by token ids, so the same corpus and options always give the same merges, whatever
/// the order of the lines.
/// </summary>
public sealed class BpeTrainer
{
    private readonly BpeTrainingOptions _options;
    private readonly Dictionary<string, long> _wordCounts = new(StringComparer.Ordinal);
    private readonly IncrementalHash _corpusHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _lines;

    public BpeTrainer(BpeTrainingOptions options)
    {
        options.Validate();
        _options = options;
    }

    public long Lines => _lines;

    /// <summary>Adds one corpus line (without its line break).</summary>
    public void AddLine(string line)
    {
        _lines++;
        _corpusHash.AppendData(Encoding.UTF8.GetBytes(line));
        _corpusHash.AppendData("\n"u8);
        foreach (var match in PreTokenization.Regex().EnumerateMatches(line))
        {
            var word = ByteLevelAlphabet.ToSymbols(Encoding.UTF8.GetBytes(line.Substring(match.Index, match.Length)));
            _wordCounts[word] = _wordCounts.GetValueOrDefault(word) + 1;
        }
    }

    public BpeVocabulary Train(CancellationToken cancellationToken = default)
    {
        var tokens = new List<string>(SpecialTokens.All);
        for (var b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevelAlphabet.ToChar((byte)b).ToString());
        }
        var tokenIds = tokens.Select((token, id) => (token, id)).ToDictionary(t => t.token, t => t.id, StringComparer.Ordinal);

        var words = _wordCounts
            .OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => new Word(w.Key.Select(c => SpecialTokens.FirstByteId + ByteOf(c)).ToList(), w.Value))
            .ToArray();

        var pairCounts = new Dictionary<(int Left, int Right), long>();
        var pairWords = new Dictionary<(int Left, int Right), HashSet<int>>();
        for (var w = 0; w < words.Length; w++)
        {
            AddPairs(words[w], w, +1, pairCounts, pairWords, changed: null);
        }

        var queue = new PriorityQueue<(int Left, int Right), (long Count, int Left, int Right)>(PairPriority.Instance);
        foreach (var (pair, count) in pairCounts)
        {
            queue.Enqueue(pair, (count, pair.Left, pair.Right));
        }

        var merges = new List<(int Left, int Right)>();
        var changed = new HashSet<(int Left, int Right)>();
        while (tokens.Count < _options.VocabularySize && queue.TryDequeue(out var pair, out var priority))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!pairCounts.TryGetValue(pair, out var current) || current != priority.Count)
            {
                continue; // stale queue entry
            }
            if (current < _options.MinFrequency)
            {
                break;
            }

            // Two different splits can spell the same token: it keeps its first id.
            var merged = tokens[pair.Left] + tokens[pair.Right];
            if (!tokenIds.TryGetValue(merged, out var newId))
            {
                newId = tokens.Count;
                tokens.Add(merged);
                tokenIds.Add(merged, newId);
            }
            merges.Add(pair);

            changed.Clear();
            foreach (var w in pairWords[pair].ToArray())
            {
                var word = words[w];
                if (!word.Contains(pair))
                {
                    continue;
                }
                AddPairs(word, w, -1, pairCounts, pairWords, changed);
                word.Merge(pair, newId);
                AddPairs(word, w, +1, pairCounts, pairWords, changed);
            }
            pairWords.Remove(pair);
            foreach (var p in changed)
            {
                if (pairCounts.TryGetValue(p, out var count) && count > 0)
                {
                    queue.Enqueue(p, (count, p.Left, p.Right));
                }
            }
        }

        var mergeStrings = merges.Select(m => (tokens[m.Left], tokens[m.Right])).ToArray();
        return new BpeVocabulary(tokens, mergeStrings, new BpeTrainingSummary(
            _options.VocabularySize, _options.MinFrequency, Convert.ToHexStringLower(_corpusHash.GetCurrentHash()), _lines));
    }

    private static int ByteOf(char symbol) =>
        ByteLevelAlphabet.TryGetBytes(symbol.ToString(), out var bytes) ? bytes[0] : throw new InvalidOperationException();

    private static void AddPairs(
        Word word, int index, int sign,
        Dictionary<(int, int), long> pairCounts, Dictionary<(int, int), HashSet<int>> pairWords,
        HashSet<(int, int)>? changed)
    {
        var symbols = word.Symbols;
        for (var i = 0; i + 1 < symbols.Count; i++)
        {
            var pair = (symbols[i], symbols[i + 1]);
            pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + sign * word.Count;
            if (sign > 0)
            {
                if (!pairWords.TryGetValue(pair, out var set))
                {
                    pairWords[pair] = set = [];
                }
                set.Add(index);
            }
            changed?.Add(pair);
        }
    }

    private sealed class Word(List<int> symbols, long count)
    {
        public List<int> Symbols { get; } = symbols;
        public long Count { get; } = count;

        public bool Contains((int Left, int Right) pair)
        {
            for (var i = 0; i + 1 < Symbols.Count; i++)
            {
                if (Symbols[i] == pair.Left && Symbols[i + 1] == pair.Right)
                {
                    return true;
                }
            }
            return false;
        }

        public void Merge((int Left, int Right) pair, int newId)
        {
            var write = 0;
            for (var read = 0; read < Symbols.Count; read++)
            {
                if (read + 1 < Symbols.Count && Symbols[read] == pair.Left && Symbols[read + 1] == pair.Right)
                {
                    Symbols[write++] = newId;
                    read++;
                }
                else
                {
                    Symbols[write++] = Symbols[read];
                }
            }
            Symbols.RemoveRange(write, Symbols.Count - write);
        }
    }

    /// <summary>Most frequent first; ties go to the smaller token ids.</summary>
    private sealed class PairPriority : IComparer<(long Count, int Left, int Right)>
    {
        public static readonly PairPriority Instance = new();

        public int Compare((long Count, int Left, int Right) x, (long Count, int Left, int Right) y)
        {
            var byCount = y.Count.CompareTo(x.Count);
            if (byCount != 0)
            {
                return byCount;
            }
            var byLeft = x.Left.CompareTo(y.Left);
            return byLeft != 0 ? byLeft : x.Right.CompareTo(y.Right);
        }
    }
}
