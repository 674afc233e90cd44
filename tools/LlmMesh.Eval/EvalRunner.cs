using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmMesh.Evaluation;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Tokenization;

namespace LlmMesh.Eval;

/// <summary>
/// Evaluates a published bundle: samples, Texygen BLEU / Self-BLEU, copies, forward and reverse
/// perplexity, held-out decoder metrics, and the temperature sweep; writes metrics.json,
/// samples.txt, sweep.csv and sweep.png into the output folder.
/// </summary>
public sealed class EvalRunner(EvalArguments args, TextWriter log)
{
    public const string MetricsFile = "metrics.json";
    public const string SamplesFile = "samples.txt";
    public const string ChartFile = "sweep.png";

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public string Run(CancellationToken cancellationToken)
    {
        var inputs = ResolveInputs();
        var progress = new ThrottledProgress(p => Log(ThrottledProgress.Describe(p)));
        var (recommended, sampling) = ChooseSampling(inputs.Bundle);
        if (args.LmBundle is not null && sampling.LmWeight == 0)
        {
            throw new EvalException("--lm-bundle needs --lm-weight above 0");
        }
        using var source = OpenSource(inputs.Bundle, inputs.StoreRoot, inputs.LatentSource, inputs.Training, sampling.LmWeight);
        var overlap = HeldOutSplit.NgramOverlap(inputs.References, inputs.Training);
        Log($"{source.Name}; {inputs.References.Count} references, {inputs.Training.Count} training sentences (split of bundle {inputs.Bundle.Version}); " +
            $"{overlap:P1} of the references' 4-grams occur in the training text");
        var evaluator = new TextEvaluator(inputs.References, inputs.Training, progress, ReadDictionary());
        SampleEvaluation Evaluate(RecommendedSampling setting, int count)
        {
            var samples = source.Sample(count, setting, args.Seed, progress, cancellationToken);
            return new SampleEvaluation(samples, evaluator.Evaluate(samples, args.SelfBleuSubsample, (int)(args.Seed & int.MaxValue), cancellationToken));
        }

        if (source.HasTemperature)
        {
            Log($"sampling with {sampling}{(sampling == recommended ? " (the bundle's recommendation)" : "")}");
        }
        var main = Evaluate(sampling, args.Samples);
        File.WriteAllLines(Path.Combine(inputs.Output, SamplesFile), main.Samples);
        Log($"BLEU-2..5 {Format(main.Report.Bleu)}  Self-BLEU-2..5 {Format(main.Report.SelfBleu)}  copies {main.Report.TrainCopyRate:P2}" +
            (main.Report.NonWordSentenceRate is { } rate ? $"  non-word sentences {rate:P1}" : ""));
        Log("held-out metrics of the model");
        var heldOut = source.HeldOutMetrics(inputs.References, evaluator, args.Seed);
        var sweep = Sweep(sampling, main, Evaluate);
        WriteSweep(inputs, source.Name, sweep);

        var metrics = Describe(inputs, source.Name, recommended, sampling, overlap, main.Report.Samples);
        AddMetrics(metrics, main.Report.ToMetrics().Concat(heldOut));
        metrics["sweep"] = new JsonArray(sweep.Select(row => (JsonNode)AddMetrics(new JsonObject { ["temperature"] = row.Temperature }, row.Metrics)).ToArray());
        metrics["elapsed_seconds"] = Math.Round(_clock.Elapsed.TotalSeconds, 1);
        File.WriteAllText(Path.Combine(inputs.Output, MetricsFile), metrics.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Log($"wrote {MetricsFile}, {SamplesFile}{(sweep.Count > 0 ? $", {SweepTable.FileName}, {ChartFile}" : "")} to {inputs.Output}");
        return inputs.Output;
    }

    /// <summary>What an evaluation reads and where it writes.</summary>
    private sealed record EvalInputs(
        ModelBundle Bundle, string StoreRoot, string LatentSource, IReadOnlyList<string> References, IReadOnlyList<string> Training, string Output);

    private EvalInputs ResolveInputs()
    {
        var (bundle, storeRoot) = ResolveBundle();
        var split = CorpusSplit.Read(bundle);
        var latentSource = args.Baseline is null ? LatentSourceOf(bundle, VaeBundle.ReadConfig(bundle)) : "none";
        var references = ReadText(args.References, split?.HeldOut, "--references", "held-out");
        var training = ReadText(args.Train, split?.Train, "--train", "training");
        if (args.Baseline is not null && (args.LmWeight is not null || args.LmBundle is not null))
        {
            throw new EvalException($"the {args.Baseline} baseline has no decoder to mix a language model into: drop --lm-weight and --lm-bundle");
        }
        if (args.Baseline is not null && args.Sweep.Any(t => t != 1.0))
        {
            throw new EvalException($"the {args.Baseline} baseline has no temperature: add --no-sweep (or --sweep 1.0)");
        }
        var output = Path.GetFullPath(args.Out ?? Path.Combine(RepositoryRoot(), ".data", "eval", args.Baseline ?? bundle.Version));
        Directory.CreateDirectory(output);
        return new EvalInputs(bundle, storeRoot, latentSource, references, training, output);
    }

    /// <summary>The bundle's recommended sampling, and the one to use: the recommendation with the arguments' overrides.</summary>
    private (RecommendedSampling Recommended, RecommendedSampling Used) ChooseSampling(ModelBundle bundle)
    {
        // Baselines sample as they are: temperature and truncation do not apply.
        var recommended = args.Baseline is null ? RecommendedSampling.Read(bundle.Manifest) : RecommendedSampling.Plain;
        // A plain language model mixed with itself is itself: skip the second decode, as the generator does.
        var mixesItself = args.LmBundle is null && !VaeBundle.ReadConfig(bundle).UsesLatent;
        return (recommended, recommended with
        {
            Temperature = args.Temperature ?? recommended.Temperature,
            TopP = args.TopP ?? recommended.TopP,
            MinP = args.MinP ?? recommended.MinP,
            LatentTemperature = args.LatentTemperature ?? recommended.LatentTemperature,
            BestOf = args.BestOf ?? recommended.BestOf,
            LmWeight = mixesItself ? 0 : args.LmWeight ?? recommended.LmWeight,
        });
    }

    private IReadOnlyList<string>? ReadDictionary()
    {
        var dictionary = NonWords.ReadSystemDictionary();
        if (dictionary is null)
        {
            Log($"no dictionary at {NonWords.SystemDictionary} (install wamerican): the non-word rate is not measured");
        }
        return dictionary;
    }

    /// <summary>The temperature sweep on top of the main samples (reused where the point is the same).</summary>
    private List<SweepRow> Sweep(RecommendedSampling sampling, SampleEvaluation main, Func<RecommendedSampling, int, SampleEvaluation> evaluate)
    {
        var sweepSamples = args.SweepSamples ?? args.Samples;
        var sweep = new List<SweepRow>();
        foreach (var temperature in args.Sweep)
        {
            var point = temperature == sampling.Temperature && sweepSamples == args.Samples ? main : evaluate(sampling with { Temperature = temperature }, sweepSamples);
            sweep.Add(new SweepRow(temperature, point.Report.ToMetrics()));
            Log($"T={temperature:0.###}: BLEU-4 {point.Report.Bleu.Bleu4:F3}  Self-BLEU-4 {point.Report.SelfBleu.Bleu4:F3}  copies {point.Report.TrainCopyRate:P2}");
        }
        return sweep;
    }

    /// <summary>sweep.csv, and the chart with the curves of --compare beside this one.</summary>
    private void WriteSweep(EvalInputs inputs, string name, IReadOnlyList<SweepRow> sweep)
    {
        if (sweep.Count == 0)
        {
            return;
        }
        var table = new SweepTable(name, sweep);
        table.Write(inputs.Output);
        var curves = new List<CurveSeries> { table.ToCurve() };
        curves.AddRange(args.Compare.Select(dir => SweepTable.Read(dir, CompareName(dir)).ToCurve()));
        QualityDiversityChart.Save(Path.Combine(inputs.Output, ChartFile),
            $"Quality-diversity, {args.SweepSamples ?? args.Samples} samples per point, {inputs.References.Count} references",
            "Self-BLEU-4 (lower = more diverse)", "BLEU-4 (higher = better quality)", curves);
    }

    private JsonObject Describe(EvalInputs inputs, string name, RecommendedSampling recommended, RecommendedSampling sampling, double overlap, int selfBleuPool) => new()
    {
        ["bundle_version"] = inputs.Bundle.Version,
        ["bundle_kind"] = inputs.Bundle.Manifest.Kind,
        ["model"] = name,
        ["name"] = name,
        ["latent_source"] = inputs.LatentSource,
        ["temperature"] = sampling.Temperature,
        ["top_p"] = sampling.TopP,
        ["min_p"] = sampling.MinP,
        ["latent_temperature"] = sampling.LatentTemperature,
        ["best_of"] = sampling.BestOf,
        ["lm_weight"] = sampling.LmWeight,
        ["lm_bundle"] = sampling.LmWeight == 0 ? null : args.LmBundle is null ? "self" : Path.GetFileName(Path.GetFullPath(args.LmBundle.TrimEnd('/'))),
        ["recommended_sampling"] = recommended.ToJson(),
        ["heldout_4gram_overlap"] = overlap,
        ["self_bleu_pool"] = selfBleuPool,
        ["references_file"] = args.References is null ? $"{inputs.Bundle.Directory}/{CorpusSplit.HeldOutFile}" : Path.GetFullPath(args.References),
        ["seed"] = args.Seed,
    };

    private static JsonObject AddMetrics(JsonObject into, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        foreach (var (key, value) in metrics)
        {
            into[key] = value;
        }
        return into;
    }

    private ISampleSource OpenSource(ModelBundle bundle, string storeRoot, string latentSource, IReadOnlyList<string> training, double lmWeight)
    {
        switch (args.Baseline)
        {
            case "real":
                return new RealTextSource(training);
            case { } baseline:
                Log($"training the {baseline} baseline on the training text");
                return new KneserNeySampleSource(KneserNeyLanguageModel.Train(training.Select(WordTokenizer.Tokenize), baseline == "kn4" ? 4 : 5));
        }
        var tokenizer = LoadTokenizer(storeRoot, bundle);
        var vae = BundleModules.LoadVae(bundle);
        var name = latentSource switch
        {
            "generator" => $"latent GAN ({bundle.Version[..15]})",
            "prior" => $"VAE prior ({bundle.Version[..15]})",
            _ => $"plain LM ({bundle.Version[..15]})",
        };
        var reranking = bundle.Manifest.Kind == AraeBundle.Kind
            ? new BestOfReranking(vae, BundleModules.LoadCritic(bundle), BundleModules.LoadTextDiscriminator(bundle), AraeBundle.ReadCalibration(bundle))
            : null;
        var mix = lmWeight > 0 ? OpenMix(bundle, vae, lmWeight) : null;
        if (mix is not null)
        {
            name += $" × {(mix.LanguageModel == vae ? "its own" : "another")} LM at w {mix.Weight:0.###}";
        }
        return new BundleSampleSource(vae, latentSource == "generator" ? BundleModules.LoadLatentGenerator(bundle) : null, reranking, tokenizer, name, args.MaxTokens, mix);
    }

    /// <summary>The plain language model mixed in: --lm-bundle's decoder, or the bundle's own read with the code withheld.</summary>
    private LanguageModelMix OpenMix(ModelBundle bundle, SentenceVae vae, double weight)
    {
        var languageModel = args.LmBundle is null ? bundle : OpenBundle(args.LmBundle).Bundle;
        if (!LanguageModelMix.IsLanguageModel(languageModel))
        {
            throw new EvalException(args.LmBundle is null
                ? $"bundle {bundle.Version} was trained with no code withheld (unconditional_rate 0), so its decoder is no plain language model: pass --lm-bundle DIR (e.g. an `lm` preset's bundle)"
                : $"--lm-bundle {languageModel.Version} is a latent model trained with no code withheld (unconditional_rate 0): pass a plain language model's bundle");
        }
        if (languageModel.Manifest.TokenizerVersion != bundle.Manifest.TokenizerVersion)
        {
            throw new EvalException($"--lm-bundle {languageModel.Version} uses vocabulary {languageModel.Manifest.TokenizerVersion}, bundle {bundle.Version} {bundle.Manifest.TokenizerVersion}: the experts must share a vocabulary");
        }
        return new LanguageModelMix(args.LmBundle is null ? vae : BundleModules.LoadVae(languageModel), weight);
    }

    private (ModelBundle Bundle, string StoreRoot) ResolveBundle()
    {
        if (args.Bundle is { } bundlePath)
        {
            return OpenBundle(bundlePath, args.Store);
        }
        var storeRoot = args.Store ?? Path.Combine(RepositoryRoot(), ".data", "models");
        var version = new ModelBundleStore(storeRoot).LatestVersion()
            ?? throw new EvalException($"the model store {storeRoot} has no bundle yet: train one (scripts/run.sh) or pass --bundle DIR");
        return Open(storeRoot, version);
    }

    /// <summary>A bundle by its folder, &lt;store&gt;/bundles/&lt;version&gt; (<paramref name="storeRoot"/>: the store, when not that folder's).</summary>
    private static (ModelBundle Bundle, string StoreRoot) OpenBundle(string bundlePath, string? storeRoot = null)
    {
        var directory = new DirectoryInfo(Path.GetFullPath(bundlePath.TrimEnd('/')));
        if (!directory.Exists)
        {
            throw new EvalException($"bundle folder {directory.FullName} does not exist");
        }
        if (directory.Parent?.Name != "bundles" || directory.Parent.Parent is null)
        {
            throw new EvalException($"{directory.FullName} is not in a model store (expected <store>/bundles/<version>)");
        }
        return Open(storeRoot ?? directory.Parent.Parent.FullName, directory.Name);
    }

    private static (ModelBundle Bundle, string StoreRoot) Open(string storeRoot, string version)
    {
        try
        {
            return (new ModelBundleStore(storeRoot).Open(version, VaeBundle.KindsWithVae), storeRoot);
        }
        catch (BundleException ex)
        {
            throw new EvalException($"bundle {version} cannot be evaluated: {ex.Message}");
        }
    }

    private static ByteLevelBpeTokenizer LoadTokenizer(string storeRoot, ModelBundle bundle)
    {
        var store = new VocabularyStore(storeRoot);
        var version = bundle.Manifest.TokenizerVersion;
        return store.Contains(version)
            ? store.Load(version)
            : throw new EvalException($"the bundle's vocabulary {version} is not in {store.Root}");
    }

    private string LatentSourceOf(ModelBundle bundle, VaeConfig config)
    {
        if (!config.UsesLatent)
        {
            return "none";
        }
        var requested = args.LatentSource ?? (bundle.Manifest.Kind == AraeBundle.Kind ? "generator" : "prior");
        if (requested == "generator" && bundle.Manifest.Kind != AraeBundle.Kind)
        {
            throw new EvalException($"bundle {bundle.Version} has no latent generator ({bundle.Manifest.Kind}): use --latent-source prior");
        }
        return requested;
    }

    private static IReadOnlyList<string> ReadText(string? path, IReadOnlyList<string>? fromBundle, string option, string what)
    {
        if (path is null)
        {
            return fromBundle ?? throw new EvalException($"the bundle carries no {what} split (published before evaluation existed): pass {option} FILE");
        }
        if (!File.Exists(path))
        {
            throw new EvalException($"{option} {path}: no such file");
        }
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray();
        return lines.Length > 0 ? lines : throw new EvalException($"{option} {path} has no sentences");
    }

    private static string CompareName(string directory)
    {
        var metrics = Path.Combine(directory, MetricsFile);
        return File.Exists(metrics) && JsonNode.Parse(File.ReadAllText(metrics))?["name"]?.GetValue<string>() is { } name ? name : Path.GetFileName(directory.TrimEnd('/'));
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LlmMesh.sln")))
            {
                return directory.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }

    private static string Format(BleuScores s) => $"{s.Bleu2:F3}/{s.Bleu3:F3}/{s.Bleu4:F3}/{s.Bleu5:F3}";

    private void Log(string message) => log.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {message}");
}
