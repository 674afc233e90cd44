namespace LlmMesh.Evaluation;

/// <summary>BLEU-2..5 of one hypothesis (index 0 is BLEU-2).</summary>
public readonly record struct BleuScores(double Bleu2, double Bleu3, double Bleu4, double Bleu5)
{
    public double this[int order] => order switch
    {
        2 => Bleu2,
        3 => Bleu3,
        4 => Bleu4,
        5 => Bleu5,
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "BLEU orders are 2..5"),
    };
}

/// <summary>
/// A reference set indexed once for sentence BLEU as Texygen computes it: NLTK's
/// <c>sentence_bleu(references, hypothesis, weights=(1/n,)*n, smoothing_function=method1)</c> with
/// every sentence of the set as references. Each n-gram keeps its highest count over the set (and
/// the runner-up), so a hypothesis costs a few dictionary lookups instead of a pass over the set,
/// and a member of the set can be scored leaving itself out (Self-BLEU).
/// </summary>
public sealed class BleuReferenceSet
{
    public const int MaxOrder = 5;
    private const double Method1Epsilon = 0.1;

    private readonly Dictionary<UInt128, ReferenceCount>[] _counts;
    private readonly int[] _lengthCounts;

    public BleuReferenceSet(IReadOnlyList<int[]> references)
    {
        if (references.Count == 0)
        {
            throw new ArgumentException("BLEU needs at least one reference", nameof(references));
        }
        Count = references.Count;
        _counts = Enumerable.Range(0, MaxOrder + 1).Select(_ => new Dictionary<UInt128, ReferenceCount>()).ToArray();
        _lengthCounts = new int[references.Max(r => r.Length) + 1];
        var local = new Dictionary<UInt128, int>();
        foreach (var reference in references)
        {
            _lengthCounts[reference.Length]++;
            for (var order = 1; order <= MaxOrder; order++)
            {
                CountNGrams(reference, order, local);
                var counts = _counts[order];
                foreach (var (key, count) in local)
                {
                    counts[key] = counts.GetValueOrDefault(key).With(count);
                }
            }
        }
    }

    public int Count { get; }

    /// <summary>
    /// Sentence BLEU-2..5 of <paramref name="hypothesis"/>. With <paramref name="isMember"/> the
    /// hypothesis is one of the references and is left out of them (Self-BLEU's leave-one-out).
    /// </summary>
    public BleuScores Score(int[] hypothesis, bool isMember = false)
    {
        if (isMember && Count < 2)
        {
            throw new InvalidOperationException("leave-one-out needs at least two sentences");
        }
        Span<long> numerators = stackalloc long[MaxOrder + 1];
        Span<long> denominators = stackalloc long[MaxOrder + 1];
        var local = new Dictionary<UInt128, int>();
        for (var order = 1; order <= MaxOrder; order++)
        {
            CountNGrams(hypothesis, order, local);
            long clipped = 0, total = 0;
            var counts = _counts[order];
            foreach (var (key, count) in local)
            {
                var reference = counts.GetValueOrDefault(key);
                clipped += Math.Min(count, isMember ? reference.MaxExcluding(count) : reference.Max);
                total += count;
            }
            numerators[order] = clipped;
            denominators[order] = Math.Max(1, total);
        }
        if (numerators[1] == 0)
        {
            return default;
        }

        var closest = ClosestReferenceLength(hypothesis.Length, isMember);
        var brevityPenalty = hypothesis.Length > closest ? 1.0 : Math.Exp(1 - (double)closest / hypothesis.Length);
        Span<double> logPrecisions = stackalloc double[MaxOrder + 1];
        for (var order = 1; order <= MaxOrder; order++)
        {
            // NLTK's method1 adds epsilon to the numerator of a zero precision.
            var precision = numerators[order] == 0 ? Method1Epsilon / denominators[order] : (double)numerators[order] / denominators[order];
            logPrecisions[order] = Math.Log(precision);
        }
        return new BleuScores(Combine(logPrecisions, 2, brevityPenalty), Combine(logPrecisions, 3, brevityPenalty),
            Combine(logPrecisions, 4, brevityPenalty), Combine(logPrecisions, 5, brevityPenalty));
    }

    private static double Combine(ReadOnlySpan<double> logPrecisions, int maxOrder, double brevityPenalty)
    {
        var weight = 1.0 / maxOrder;
        var sum = 0.0;
        for (var order = 1; order <= maxOrder; order++)
        {
            sum += weight * logPrecisions[order];
        }
        return brevityPenalty * Math.Exp(sum);
    }

    /// <summary>NLTK's closest_ref_length: the nearest reference length, the shorter one on a tie.</summary>
    private int ClosestReferenceLength(int length, bool isMember)
    {
        int Available(int candidate) =>
            candidate < 0 || candidate >= _lengthCounts.Length ? 0 : _lengthCounts[candidate] - (isMember && candidate == length ? 1 : 0);

        for (var distance = 0; ; distance++)
        {
            if (Available(length - distance) > 0)
            {
                return length - distance;
            }
            if (Available(length + distance) > 0)
            {
                return length + distance;
            }
        }
    }

    private static void CountNGrams(int[] sentence, int order, Dictionary<UInt128, int> counts)
    {
        counts.Clear();
        for (var start = 0; start + order <= sentence.Length; start++)
        {
            var key = NGramKey.Pack(sentence.AsSpan(start, order));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>The highest count of an n-gram in any one reference, how many references have it, and the next count below it.</summary>
    private readonly record struct ReferenceCount(int Max, int MaxHolders, int RunnerUp)
    {
        public ReferenceCount With(int count) =>
            count > Max ? new ReferenceCount(count, 1, Max)
            : count == Max ? this with { MaxHolders = MaxHolders + 1 }
            : count > RunnerUp ? this with { RunnerUp = count }
            : this;

        /// <summary>The highest count once one reference holding <paramref name="ownCount"/> of it is left out.</summary>
        public int MaxExcluding(int ownCount) => ownCount == Max && MaxHolders == 1 ? RunnerUp : Max;
    }
}
