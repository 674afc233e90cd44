using LlmMesh.Evaluation;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Tokenization;

namespace LlmMesh.Eval;

/// <summary>What an evaluation draws its samples from.</summary>
public interface ISampleSource : IDisposable
{
    string Name { get; }

    /// <summary>Whether samples can be drawn at temperatures other than 1 (the sweep).</summary>
    bool HasTemperature { get; }

    IReadOnlyList<string> Sample(int count, RecommendedSampling sampling, long seed, IProgress<EvaluationProgress> progress, CancellationToken cancellationToken);

    /// <summary>Metrics of the model itself on the references (empty when it has none to give).</summary>
    IReadOnlyDictionary<string, double> HeldOutMetrics(IReadOnlyList<string> references, TextEvaluator evaluator, long seed);
}

/// <summary>A bundle's decoder, with z from its latent generator, the prior, or 0 for a plain language model.</summary>
/// <param name="reranking">The bundle's discriminator for best-of sampling (null: the bundle has none).</param>
/// <param name="mix">A plain language model mixed into the decoder (null: the decoder alone); disposed with the source.</param>
public sealed class BundleSampleSource(
    SentenceVae vae, LatentGenerator? latentGenerator, BestOfReranking? reranking, ByteLevelBpeTokenizer tokenizer, string name, int maxTokens,
    LanguageModelMix? mix = null)
    : ISampleSource
{
    public string Name => name;

    public bool HasTemperature => true;

    public IReadOnlyList<string> Sample(int count, RecommendedSampling sampling, long seed, IProgress<EvaluationProgress> progress, CancellationToken cancellationToken)
    {
        var options = new GenerationEvaluationOptions
        {
            Samples = count, Temperature = sampling.Temperature, TopP = sampling.TopP, MinP = sampling.MinP,
            LatentTemperature = sampling.LatentTemperature, MaxTokens = maxTokens, Seed = seed, BestOf = sampling.BestOf,
        };
        if (options.BestOf > 1 && reranking is null)
        {
            throw new EvalException($"{name} has no discriminator to rerank best-of candidates: drop --best-of");
        }
        return Decode(GenerationEvaluation.SampleBestOf(vae, latentGenerator, reranking, options, progress, cancellationToken, mix));
    }

    public IReadOnlyDictionary<string, double> HeldOutMetrics(IReadOnlyList<string> references, TextEvaluator evaluator, long seed)
    {
        var ids = references.Select(line => tokenizer.Encode(line).ToArray()).Where(s => s.Length > 0).ToArray();
        return GenerationEvaluation.HeldOutMetrics(vae, ids, Decode, evaluator, maxTokens, seed);
    }

    private IReadOnlyList<string> Decode(IReadOnlyList<int[]> ids) => ids.Select(s => tokenizer.Decode(s).ReplaceLineEndings(" ").Trim()).ToArray();

    public void Dispose()
    {
        if (mix is not null && mix.LanguageModel != vae)
        {
            mix.LanguageModel.Dispose();
        }
        vae.Dispose();
        latentGenerator?.Dispose();
    }
}

/// <summary>An n-gram baseline: a modified Kneser-Ney LM trained on the training text, sampled word by word.</summary>
public sealed class KneserNeySampleSource(KneserNeyLanguageModel model) : ISampleSource
{
    private const int MaxWords = 60;

    public string Name => $"Kneser-Ney {model.Order}-gram";

    public bool HasTemperature => false;

    public IReadOnlyList<string> Sample(int count, RecommendedSampling sampling, long seed, IProgress<EvaluationProgress> progress, CancellationToken cancellationToken)
    {
        var random = new Random(unchecked((int)seed));
        var samples = new string[count];
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            samples[i] = string.Join(' ', model.Sample(random, MaxWords));
            progress.Report(new EvaluationProgress("sampling the n-gram model", i + 1, count));
        }
        return samples;
    }

    public IReadOnlyDictionary<string, double> HeldOutMetrics(IReadOnlyList<string> references, TextEvaluator evaluator, long seed) => new Dictionary<string, double>
    {
        ["heldout_word_ppl"] = model.Perplexity(references.Select(WordTokenizer.Tokenize)),
    };

    public void Dispose()
    {
    }
}

/// <summary>The training text itself as the sample pool: where real captions stand on the same references.</summary>
public sealed class RealTextSource(IReadOnlyList<string> training) : ISampleSource
{
    public string Name => "real captions (training split)";

    public bool HasTemperature => false;

    public IReadOnlyList<string> Sample(int count, RecommendedSampling sampling, long seed, IProgress<EvaluationProgress> progress, CancellationToken cancellationToken)
    {
        var order = training.ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        return order[..Math.Min(count, order.Length)];
    }

    public IReadOnlyDictionary<string, double> HeldOutMetrics(IReadOnlyList<string> references, TextEvaluator evaluator, long seed) => new Dictionary<string, double>();

    public void Dispose()
    {
    }
}
