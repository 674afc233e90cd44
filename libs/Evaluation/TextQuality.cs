namespace LlmMesh.Evaluation;

/// <summary>Progress of a long evaluation step: what it does and how far it got.</summary>
public readonly record struct EvaluationProgress(string Stage, int Done, int Total);

/// <summary>Corpus-level text metrics over word-tokenized sentences (see <see cref="WordTokenizer"/>).</summary>
public static class TextQuality
{
    private const int ProgressEvery = 500;

    /// <summary>Mean sentence BLEU-2..5 of <paramref name="hypotheses"/> against the whole reference set (Texygen's BLEU).</summary>
    public static BleuScores Bleu(BleuReferenceSet references, IReadOnlyList<int[]> hypotheses,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        MeanScores("BLEU", hypotheses.Count, i => references.Score(hypotheses[i]), progress, cancellationToken);

    /// <summary>
    /// Self-BLEU-2..5 (Texygen): each sample scored against every other sample of the pool, never
    /// itself. With <paramref name="subsample"/> only that many samples (seeded pick) are scored,
    /// still against the whole pool, so the figure stays comparable at the same pool size.
    /// </summary>
    public static BleuScores SelfBleu(IReadOnlyList<int[]> pool, int? subsample = null, int seed = 0,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (pool.Count < 2)
        {
            throw new ArgumentException("Self-BLEU needs at least two samples", nameof(pool));
        }
        var references = new BleuReferenceSet(pool);
        var scored = Enumerable.Range(0, pool.Count).ToArray();
        if (subsample is { } size && size < pool.Count)
        {
            new Random(seed).Shuffle(scored);
            scored = scored[..size];
        }
        return MeanScores("Self-BLEU", scored.Length, i => references.Score(pool[scored[i]], isMember: true), progress, cancellationToken);
    }

    /// <summary>The fraction of samples whose words equal some training sentence's words (verbatim copies).</summary>
    public static double CopyRate(IReadOnlyList<string[]> samples, IEnumerable<string[]> training)
    {
        if (samples.Count == 0)
        {
            return 0;
        }
        var known = training.Select(words => string.Join(' ', words)).ToHashSet(StringComparer.Ordinal);
        return samples.Count(words => known.Contains(string.Join(' ', words))) / (double)samples.Count;
    }

    /// <summary>Distinct-n (Li et al. 2016): distinct n-grams over all n-grams of all samples.</summary>
    public static double Distinct(IReadOnlyList<string[]> samples, int order)
    {
        var vocabulary = new WordVocabulary();
        return Distinct(samples.Select(vocabulary.GetOrAdd).ToArray(), order);
    }

    /// <summary>Distinct-n over word ids.</summary>
    public static double Distinct(IReadOnlyList<int[]> samples, int order)
    {
        var distinct = new HashSet<UInt128>();
        long total = 0;
        foreach (var sample in samples)
        {
            for (var start = 0; start + order <= sample.Length; start++)
            {
                distinct.Add(NGramKey.Pack(sample.AsSpan(start, order)));
                total++;
            }
        }
        return total == 0 ? 0 : distinct.Count / (double)total;
    }

    private static BleuScores MeanScores(string stage, int count, Func<int, BleuScores> score,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            throw new ArgumentException($"{stage} needs at least one sentence to score");
        }
        var scores = new BleuScores[count];
        var done = 0;
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            scores[i] = score(i);
            var finished = Interlocked.Increment(ref done);
            if (finished % ProgressEvery == 0 || finished == count)
            {
                progress?.Report(new EvaluationProgress(stage, finished, count));
            }
        });
        return new BleuScores(scores.Average(s => s.Bleu2), scores.Average(s => s.Bleu3), scores.Average(s => s.Bleu4), scores.Average(s => s.Bleu5));
    }
}

/// <summary>Forwards progress at most once per stage and tenth of its work (for logs and watchers).</summary>
public sealed class ThrottledProgress(Action<EvaluationProgress> report) : IProgress<EvaluationProgress>
{
    private readonly Lock _gate = new();
    private (string Stage, int Tenth) _last;

    public void Report(EvaluationProgress value)
    {
        var tenth = value.Total <= 0 ? 10 : value.Done * 10 / value.Total;
        lock (_gate)
        {
            if ((value.Stage, tenth) == _last)
            {
                return;
            }
            _last = (value.Stage, tenth);
        }
        report(value);
    }

    public static string Describe(EvaluationProgress value) => value.Total <= 1 ? value.Stage : $"{value.Stage}: {value.Done}/{value.Total}";
}
