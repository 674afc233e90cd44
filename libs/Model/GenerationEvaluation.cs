using LlmMesh.Evaluation;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>How sample pools are drawn for evaluation.</summary>
public sealed record GenerationEvaluationOptions
{
    /// <summary>The generator's limit on best_of.</summary>
    public const int MaxBestOf = 16;

    public int Samples { get; init; } = 10_000;
    public double Temperature { get; init; } = 1.0;
    /// <summary>Nucleus sampling; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Min-p truncation; 0 = off.</summary>
    public double MinP { get; init; }
    /// <summary>Scale of the noise behind unconditioned codes (latent generator input, or the prior's z); 1 = off.</summary>
    public double LatentTemperature { get; init; } = 1.0;
    public int MaxTokens { get; init; } = 48;
    /// <summary>Candidates drawn per sample, the discriminator keeping the most probable (as the generator's best_of); 1 = off.</summary>
    public int BestOf { get; init; } = 1;
    /// <summary>Score only this many samples' Self-BLEU (against the whole pool); null = all.</summary>
    public int? SelfBleuSubsample { get; init; }
    public long Seed { get; init; } = 1;

    public void Validate()
    {
        if (Samples is < 2 or > 1_000_000)
        {
            throw new ArgumentException($"samples must be between 2 and 1000000, not {Samples}");
        }
        if (!double.IsFinite(Temperature) || Temperature is <= 0 or > 10)
        {
            throw new ArgumentException($"temperature must be in (0, 10], not {Temperature}");
        }
        if (!double.IsFinite(TopP) || TopP is <= 0 or > 1)
        {
            throw new ArgumentException($"top-p must be in (0, 1], not {TopP}");
        }
        if (!double.IsFinite(MinP) || MinP is < 0 or >= 1)
        {
            throw new ArgumentException($"min-p must be in [0, 1), not {MinP}");
        }
        if (!double.IsFinite(LatentTemperature) || LatentTemperature is <= 0 or > 10)
        {
            throw new ArgumentException($"latent temperature must be in (0, 10], not {LatentTemperature}");
        }
        if (MaxTokens is < 1 or > 1024)
        {
            throw new ArgumentException($"max tokens must be between 1 and 1024, not {MaxTokens}");
        }
        if (BestOf is < 1 or > MaxBestOf)
        {
            throw new ArgumentException($"best-of must be between 1 and {MaxBestOf}, not {BestOf}");
        }
        if (SelfBleuSubsample is < 2)
        {
            throw new ArgumentException("the Self-BLEU subsample must be at least 2");
        }
    }
}

/// <summary>Samples and their text metrics.</summary>
public sealed record SampleEvaluation(IReadOnlyList<string> Samples, TextEvaluationReport Report);

/// <summary>
/// The evaluation harness on the model side: draws sample pools (z from the latent generator, from
/// the prior, or z = 0 for a plain language model, which ignores z), scores them with a
/// <see cref="TextEvaluator"/>, and measures the decoder on held-out text.
/// </summary>
public static class GenerationEvaluation
{
    private const int BatchSize = 500;

    /// <param name="latentGenerator">Null: z from the prior N(0, I).</param>
    /// <param name="decode">Token ids to text with the model's vocabulary.</param>
    /// <param name="reranking">Ranks best-of candidates (required when <see cref="GenerationEvaluationOptions.BestOf"/> is above 1).</param>
    public static SampleEvaluation EvaluateSamples(
        SentenceVae vae, LatentGenerator? latentGenerator, BestOfReranking? reranking, TextEvaluator evaluator, Func<IReadOnlyList<int[]>, IReadOnlyList<string>> decode,
        GenerationEvaluationOptions options, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default,
        LanguageModelMix? mix = null)
    {
        var ids = SampleBestOf(vae, latentGenerator, reranking, options, progress, cancellationToken, mix);
        var texts = decode(ids).Select(t => t.ReplaceLineEndings(" ").Trim()).ToArray();
        var report = evaluator.Evaluate(texts, options.SelfBleuSubsample, (int)(options.Seed & int.MaxValue), cancellationToken);
        return new SampleEvaluation(texts, report);
    }

    /// <summary>
    /// Samples with best-of reranking: candidate c of every sample from its own seed (candidate 0
    /// from the options' seed, so best-of 1 is <see cref="Sample"/>), the most probable kept.
    /// </summary>
    /// <param name="reranking">Ranks the candidates; may be null only for best-of 1.</param>
    /// <param name="mix">A plain language model mixed into every next-token distribution; null = the decoder alone.</param>
    public static IReadOnlyList<int[]> SampleBestOf(SentenceVae vae, LatentGenerator? latentGenerator, BestOfReranking? reranking,
        GenerationEvaluationOptions options, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default,
        LanguageModelMix? mix = null)
    {
        options.Validate();
        if (options.BestOf == 1)
        {
            return Sample(vae, latentGenerator, options, progress, cancellationToken, mix);
        }
        var ranking = reranking ?? throw new ArgumentException("best-of sampling needs a discriminator to rank candidates");
        var candidates = Enumerable.Range(0, options.BestOf)
            .Select(c => Sample(vae, latentGenerator, options with { Seed = c == 0 ? options.Seed : Seeds.Derive(options.Seed, SeedStream.Samples, index: c) }, progress, cancellationToken, mix))
            .ToArray();
        return ranking.Best(candidates);
    }

    /// <summary>Ancestral samples in batches, reproducible from the seed (one candidate: <see cref="GenerationEvaluationOptions.BestOf"/> is <see cref="SampleBestOf"/>'s).</summary>
    public static IReadOnlyList<int[]> Sample(SentenceVae vae, LatentGenerator? latentGenerator, GenerationEvaluationOptions options,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default, LanguageModelMix? mix = null)
    {
        options.Validate();
        using var random = new Generator(0, CPU).manual_seed(Seeds.Derive(options.Seed, SeedStream.Samples, index: 0));
        var samples = new List<int[]>(options.Samples);
        while (samples.Count < options.Samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(BatchSize, options.Samples - samples.Count);
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            Tensor z;
            if (latentGenerator is null)
            {
                z = randn(count, vae.Config.LatentSize, generator: random).Times(options.LatentTemperature);
            }
            else
            {
                latentGenerator.eval();
                z = latentGenerator.call(randn(count, latentGenerator.Config.NoiseSize, generator: random).Times(options.LatentTemperature));
            }
            samples.AddRange(VaeSampler.Sample(vae, z, options.MaxTokens, options.Temperature, random, options.TopP, options.MinP, mix));
            progress?.Report(new EvaluationProgress($"sampling at temperature {options.Temperature:0.###}", samples.Count, options.Samples));
        }
        return samples;
    }

    /// <summary>
    /// The decoder on held-out sentences: NLL per token (reconstruction + KL, with one z sample),
    /// perplexity per token and per word, KL per sentence, and reconstruction BLEU-4 of greedy
    /// decoding from the posterior mean. With a latent code, also text related to each held-out
    /// sentence as the generator makes it from a prompt at variation 1 (z drawn from the
    /// posterior) and temperature 1: its BLEU-4 against the prompt and its forward perplexity.
    /// </summary>
    public static IReadOnlyDictionary<string, double> HeldOutMetrics(
        SentenceVae vae, IReadOnlyList<int[]> heldOut, Func<IReadOnlyList<int[]>, IReadOnlyList<string>> decode, TextEvaluator evaluator,
        int maxTokens, long seed)
    {
        var metrics = VaeEvaluation.Evaluate(vae, heldOut, 256, seed);
        var nonEmpty = heldOut.Where(s => s.Length > 0).ToArray();
        using var random = new Generator(0, CPU).manual_seed(Seeds.Derive(seed, SeedStream.PromptSamples, index: 0));
        var reconstructions = new List<int[]>();
        var related = new List<int[]>();
        foreach (var batch in nonEmpty.Chunk(BatchSize))
        {
            using var scope = NewDisposeScope();
            var (mu, logVar) = AraeEvaluation.EncodePosterior(vae, batch);
            reconstructions.AddRange(VaeSampler.Sample(vae, mu, maxTokens, temperature: 0, random));
            related.AddRange(VaeSampler.Sample(vae, SentenceVae.Reparameterize(mu, logVar, random), maxTokens, temperature: 1, random));
        }
        var heldOutTexts = decode(nonEmpty);
        // Per word (NLTK words plus </s>), the unit n-gram models report: comparable across vocabularies.
        var words = heldOutTexts.Sum(t => WordTokenizer.Tokenize(t).Length + 1);
        var result = new Dictionary<string, double>
        {
            ["heldout_nll_per_token"] = metrics.NllPerToken,
            ["heldout_ppl"] = metrics.Perplexity,
            ["heldout_word_ppl"] = Math.Exp(metrics.NllPerToken * metrics.Tokens / words),
            ["heldout_kl_per_sentence"] = metrics.KlPerSentence,
            ["heldout_sentences"] = metrics.Sentences,
            ["reconstruction_bleu4"] = TextEvaluator.PairedBleu4(decode(reconstructions), heldOutTexts),
        };
        if (vae.Config.UsesLatent)
        {
            var relatedTexts = decode(related);
            result["prompt_bleu4"] = TextEvaluator.PairedBleu4(relatedTexts, heldOutTexts);
            result["prompt_forward_ppl"] = evaluator.ForwardPerplexity(relatedTexts);
        }
        return result;
    }
}
