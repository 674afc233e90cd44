namespace LlmMesh.Evaluation;

/// <summary>What the text metrics say about one pool of samples.</summary>
public sealed record TextEvaluationReport(
    int Samples,
    int References,
    BleuScores Bleu,
    BleuScores SelfBleu,
    int SelfBleuScored,
    double TrainCopyRate,
    double ForwardPerplexity,
    double ReversePerplexity,
    double Distinct1,
    double Distinct2,
    double MeanWords,
    double? NonWordSentenceRate = null)
{
    /// <summary>Flat metric names, as in metrics.json and bundle manifests.</summary>
    public IReadOnlyDictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>
    {
        ["samples"] = Samples,
        ["references"] = References,
        ["bleu2"] = Bleu.Bleu2,
        ["bleu3"] = Bleu.Bleu3,
        ["bleu4"] = Bleu.Bleu4,
        ["bleu5"] = Bleu.Bleu5,
        ["self_bleu2"] = SelfBleu.Bleu2,
        ["self_bleu3"] = SelfBleu.Bleu3,
        ["self_bleu4"] = SelfBleu.Bleu4,
        ["self_bleu5"] = SelfBleu.Bleu5,
        ["self_bleu_scored"] = SelfBleuScored,
        ["train_copy_rate"] = TrainCopyRate,
        ["forward_ppl"] = ForwardPerplexity,
        ["reverse_ppl"] = ReversePerplexity,
        ["distinct_1"] = Distinct1,
        ["distinct_2"] = Distinct2,
        ["mean_words"] = MeanWords,
    };
        if (NonWordSentenceRate is { } rate)
        {
            metrics["nonword_sentence_rate"] = rate;
        }
        return metrics;
    }
}

/// <summary>
/// Scores sample pools against held-out references and the training text: Texygen BLEU-2..5,
/// leave-one-out Self-BLEU-2..5 over the whole pool, verbatim training copies, and ARAE's forward
/// (5-gram Kneser-Ney LM on the training text scoring the samples) and reverse (LM on the samples
/// scoring the references) perplexities. Everything is computed on words split as NLTK does.
/// The references, their index and the forward LM are built once for any number of pools.
/// </summary>
public sealed class TextEvaluator
{
    public const int LanguageModelOrder = 5;

    private readonly WordVocabulary _vocabulary = new();
    private readonly string[][] _references;
    private readonly BleuReferenceSet _referenceSet;
    private readonly string[][] _training;
    private readonly KneserNeyLanguageModel _forwardModel;
    private readonly NonWords? _nonWords;
    private readonly IProgress<EvaluationProgress>? _progress;

    /// <param name="references">Held-out sentences (blank lines are skipped).</param>
    /// <param name="training">The text the model was trained on (blank lines are skipped).</param>
    /// <param name="dictionary">Known words besides the training text's, for the non-word rate (null: not measured).</param>
    public TextEvaluator(IEnumerable<string> references, IEnumerable<string> training, IProgress<EvaluationProgress>? progress = null,
        IEnumerable<string>? dictionary = null)
    {
        _progress = progress;
        _references = Words(references);
        _training = Words(training);
        if (_references.Length == 0)
        {
            throw new ArgumentException("the reference text has no sentences", nameof(references));
        }
        if (_training.Length == 0)
        {
            throw new ArgumentException("the training text has no sentences", nameof(training));
        }
        _referenceSet = new BleuReferenceSet(_references.Select(_vocabulary.GetOrAdd).ToArray());
        progress?.Report(new EvaluationProgress("training the forward 5-gram LM", 0, 1));
        _forwardModel = KneserNeyLanguageModel.Train(_training, LanguageModelOrder);
        _nonWords = dictionary is null ? null : new NonWords(_training.SelectMany(words => words).Concat(dictionary));
    }

    /// <summary>Forward perplexity of sentences under the 5-gram LM of the training text.</summary>
    public double ForwardPerplexity(IEnumerable<string> sentences) => _forwardModel.Perplexity(sentences.Select(WordTokenizer.Tokenize));

    public int ReferenceCount => _references.Length;

    public TextEvaluationReport Evaluate(IReadOnlyList<string> samples, int? selfBleuSubsample = null, int seed = 0, CancellationToken cancellationToken = default)
    {
        if (samples.Count < 2)
        {
            throw new ArgumentException("evaluation needs at least two samples", nameof(samples));
        }
        var words = samples.Select(WordTokenizer.Tokenize).ToArray();
        int[][] ids;
        lock (_vocabulary)
        {
            ids = words.Select(_vocabulary.GetOrAdd).ToArray();
        }
        var bleu = TextQuality.Bleu(_referenceSet, ids, _progress, cancellationToken);
        var selfBleu = TextQuality.SelfBleu(ids, selfBleuSubsample, seed, _progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        _progress?.Report(new EvaluationProgress("perplexities and copies", 0, 1));
        var reverseModel = KneserNeyLanguageModel.Train(words, LanguageModelOrder);
        return new TextEvaluationReport(
            samples.Count,
            _references.Length,
            bleu,
            selfBleu,
            Math.Min(selfBleuSubsample ?? samples.Count, samples.Count),
            TextQuality.CopyRate(words, _training),
            _forwardModel.Perplexity(words),
            reverseModel.Perplexity(_references),
            TextQuality.Distinct(ids, 1),
            TextQuality.Distinct(ids, 2),
            words.Average(w => w.Length),
            _nonWords?.SentenceRate(samples));
    }

    /// <summary>Mean sentence BLEU-4 of each hypothesis against its own reference (e.g. reconstructions).</summary>
    public static double PairedBleu4(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
    {
        if (hypotheses.Count != references.Count || hypotheses.Count == 0)
        {
            throw new ArgumentException("paired BLEU needs as many hypotheses as references, at least one");
        }
        var vocabulary = new WordVocabulary();
        return Enumerable.Range(0, hypotheses.Count).Average(i =>
            new BleuReferenceSet([vocabulary.GetOrAdd(WordTokenizer.Tokenize(references[i]))])
                .Score(vocabulary.GetOrAdd(WordTokenizer.Tokenize(hypotheses[i]))).Bleu4);
    }

    private static string[][] Words(IEnumerable<string> lines) =>
        lines.Where(l => l.Trim().Length > 0).Select(WordTokenizer.Tokenize).ToArray();
}
