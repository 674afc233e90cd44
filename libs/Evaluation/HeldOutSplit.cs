namespace LlmMesh.Evaluation;

/// <summary>
/// A held-out split of a corpus (indices into its lines) that holds out unseen text, not the
/// siblings of training text. <see cref="SetAside"/> lines are on neither side: they share a rare
/// n-gram with a held-out line but were not taken into its group.
/// </summary>
public sealed record HeldOutSplit(int[] Train, int[] HeldOut, int[] SetAside)
{
    /// <summary>Word n-gram order that links near-duplicates and that <see cref="NgramOverlap"/> measures.</summary>
    public const int NgramOrder = 4;

    /// <summary>
    /// An n-gram found in at most this many lines is rare enough to mark near-duplicates: MS COCO
    /// describes each image with five captions, and captions of one image share such n-grams. At 5
    /// some splits of COCO still shared 16.5 % of their 4-grams with training (unseen images: 15.2 %);
    /// at 7 the share is 12-14.5 % for every seed tried.
    /// </summary>
    public const int MaxRareDocumentFrequency = 7;

    /// <summary>
    /// Holds out about <paramref name="fraction"/> of the lines in groups: a line drawn at random
    /// (seeded) goes to the held-out side with every line that shares a rare word 4-gram with it (or
    /// equals it word for word). Lines that share a rare 4-gram with a held-out line but were not
    /// drawn into its group are set aside, so no rare 4-gram crosses from held-out to training. A
    /// group that would leave less than <c>1 - 3 x fraction</c> of the corpus for training is skipped.
    /// </summary>
    public static HeldOutSplit Create(IReadOnlyList<string> lines, double fraction, int seed)
    {
        if (lines.Count < 2)
        {
            throw new ArgumentException("a split needs at least two lines", nameof(lines));
        }
        if (!double.IsFinite(fraction) || fraction is <= 0 or > 0.5)
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the held-out fraction must be in (0, 0.5]");
        }
        var neighbours = NearDuplicates(lines);
        var target = Math.Clamp((int)Math.Round(lines.Count * fraction), 1, lines.Count - 1);
        var minimumTrain = Math.Max(1, (int)Math.Ceiling(lines.Count * (1 - 3 * fraction)));

        var side = new Side[lines.Count];
        var heldOut = 0;
        var setAside = 0;
        var order = Enumerable.Range(0, lines.Count).ToArray();
        new Random(seed).Shuffle(order);
        foreach (var candidate in order)
        {
            if (heldOut >= target)
            {
                break;
            }
            if (side[candidate] == Side.HeldOut)
            {
                continue;
            }
            var group = neighbours[candidate].Append(candidate).Where(i => side[i] != Side.HeldOut).ToArray();
            var fringe = group.SelectMany(i => neighbours[i]).Where(i => side[i] == Side.Train && !group.Contains(i)).Distinct().ToArray();
            var train = lines.Count - heldOut - setAside - group.Count(i => side[i] == Side.Train) - fringe.Length;
            if (train < minimumTrain)
            {
                continue;
            }
            foreach (var i in group)
            {
                setAside -= side[i] == Side.SetAside ? 1 : 0;
                side[i] = Side.HeldOut;
                heldOut++;
            }
            foreach (var i in fringe)
            {
                side[i] = Side.SetAside;
                setAside++;
            }
        }
        if (heldOut == 0)
        {
            // Every group was too large (a tiny or heavily duplicated corpus): hold out one line alone.
            side[order[0]] = Side.HeldOut;
        }
        int[] Of(Side s) => Enumerable.Range(0, lines.Count).Where(i => side[i] == s).ToArray();
        return new HeldOutSplit(Of(Side.Train), Of(Side.HeldOut), Of(Side.SetAside));
    }

    /// <summary>
    /// The fraction of the held-out lines' word 4-grams (occurrences) that also occur in the
    /// training lines. Captions of unseen COCO images share about 15 % with the COCO training text;
    /// a random split of the shipped captions, about 30 %.
    /// </summary>
    public static double NgramOverlap(IEnumerable<string> heldOut, IEnumerable<string> train)
    {
        var vocabulary = new WordVocabulary();
        var known = new HashSet<UInt128>();
        foreach (var line in train)
        {
            foreach (var gram in Ngrams(vocabulary.GetOrAdd(WordTokenizer.Tokenize(line))))
            {
                known.Add(gram);
            }
        }
        long total = 0, shared = 0;
        foreach (var line in heldOut)
        {
            foreach (var gram in Ngrams(vocabulary.GetOrAdd(WordTokenizer.Tokenize(line))))
            {
                total++;
                shared += known.Contains(gram) ? 1 : 0;
            }
        }
        return total == 0 ? 0 : shared / (double)total;
    }

    /// <summary>For each line, the lines that share a rare word 4-gram with it or equal it word for word.</summary>
    private static int[][] NearDuplicates(IReadOnlyList<string> lines)
    {
        var vocabulary = new WordVocabulary();
        var postings = new Dictionary<UInt128, List<int>>();
        var sentences = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            var words = WordTokenizer.Tokenize(lines[i].ToLowerInvariant());
            Posting(sentences, string.Join(' ', words)).Add(i);
            foreach (var gram in Ngrams(vocabulary.GetOrAdd(words)).Distinct())
            {
                Posting(postings, gram).Add(i);
            }
        }
        var neighbours = Enumerable.Range(0, lines.Count).Select(_ => new HashSet<int>()).ToArray();
        var groups = postings.Values.Where(p => p.Count is > 1 and <= MaxRareDocumentFrequency)
            .Concat(sentences.Values.Where(p => p.Count > 1));
        foreach (var group in groups)
        {
            foreach (var a in group)
            {
                foreach (var b in group)
                {
                    if (a != b)
                    {
                        neighbours[a].Add(b);
                    }
                }
            }
        }
        return neighbours.Select(n => n.Order().ToArray()).ToArray();
    }

    private static List<int> Posting<TKey>(Dictionary<TKey, List<int>> postings, TKey key) where TKey : notnull
    {
        if (!postings.TryGetValue(key, out var list))
        {
            postings[key] = list = [];
        }
        return list;
    }

    private static IEnumerable<UInt128> Ngrams(int[] words)
    {
        for (var start = 0; start + NgramOrder <= words.Length; start++)
        {
            yield return NGramKey.Pack(words.AsSpan(start, NgramOrder));
        }
    }

    private enum Side : byte
    {
        Train,
        HeldOut,
        SetAside,
    }
}
