using System.Text.Json.Nodes;
using LlmMesh.Eval;
using LlmMesh.ModelStore;
using LlmMesh.TestSupport;
using LlmMesh.Tokenization;

namespace LlmMesh.Model.Tests;

/// <summary>scripts/eval.sh's program against a real (tiny) bundle in a temporary model store.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-eval-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Evaluating_a_bundle_writes_metrics_samples_and_the_sweep()
    {
        var bundle = PublishTinyBundle(withSplit: true);
        var output = Path.Combine(_root, "out");

        Run("--bundle", bundle.Directory, "--samples", "60", "--sweep", "0.8,1.0", "--out", output);

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!.AsObject();
        foreach (var key in new[] { "bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5", "train_copy_rate" })
        {
            Assert.InRange(metrics[key]!.GetValue<double>(), 0, 1);
        }
        Assert.True(metrics["bleu2"]!.GetValue<double>() > 0.1, $"samples of a trained model share bigrams with the references: {metrics}");
        Assert.True(metrics["forward_ppl"]!.GetValue<double>() > 1 && metrics["reverse_ppl"]!.GetValue<double>() > 1);
        Assert.Equal(60, metrics["samples"]!.GetValue<int>());
        Assert.Equal(50, metrics["references"]!.GetValue<int>());
        Assert.Equal(bundle.Version, metrics["bundle_version"]!.GetValue<string>());
        Assert.Equal("prior", metrics["latent_source"]!.GetValue<string>());
        Assert.True(metrics["heldout_ppl"]!.GetValue<double>() > 1);
        Assert.Equal(2, metrics["sweep"]!.AsArray().Count);

        Assert.Equal(60, File.ReadAllLines(Path.Combine(output, "samples.txt")).Length);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "sweep.csv")).Length);
        Assert.True(new FileInfo(Path.Combine(output, "sweep.png")).Length > 1000);

        // A second evaluation draws the first one's curve beside its own.
        Run("--bundle", bundle.Directory, "--samples", "30", "--sweep", "1.0", "--references", WriteLines("refs.txt", RepositoryPaths.CocoLines(40)),
            "--compare", output, "--out", Path.Combine(_root, "second"));
        Assert.Equal(40, JsonNode.Parse(File.ReadAllText(Path.Combine(_root, "second", "metrics.json")))!["references"]!.GetValue<int>());
    }

    [Fact]
    public void Without_bundle_the_latest_bundle_of_the_store_is_evaluated()
    {
        PublishTinyBundle(withSplit: true);
        var latest = PublishTinyBundle(withSplit: true);
        var output = Path.Combine(_root, "latest");
        Run("--store", Path.Combine(_root, "store"), "--samples", "20", "--no-sweep", "--out", output);
        Assert.Equal(latest.Version, JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!["bundle_version"]!.GetValue<string>());
        Assert.False(File.Exists(Path.Combine(output, "sweep.csv")));
    }

    [Fact]
    public void An_n_gram_baseline_is_scored_on_the_bundle_split_with_the_same_metrics()
    {
        var bundle = PublishTinyBundle(withSplit: true);
        var output = Path.Combine(_root, "kn");
        Run("--bundle", bundle.Directory, "--baseline", "kn4", "--samples", "200", "--no-sweep", "--out", output);

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!.AsObject();
        Assert.Equal("Kneser-Ney 4-gram", metrics["model"]!.GetValue<string>());
        Assert.True(metrics["bleu2"]!.GetValue<double>() > 0.2, $"an n-gram model of captions shares bigrams with held-out captions: {metrics}");
        Assert.InRange(metrics["train_copy_rate"]!.GetValue<double>(), 0, 0.5);
        Assert.Equal(200, File.ReadAllLines(Path.Combine(output, "samples.txt")).Length);
        Assert.Contains("no temperature", Fails("--bundle", bundle.Directory, "--baseline", "kn5", "--sweep", "0.8"));

        Run("--bundle", bundle.Directory, "--baseline", "real", "--samples", "1000", "--no-sweep", "--out", Path.Combine(_root, "real"));
        var real = JsonNode.Parse(File.ReadAllText(Path.Combine(_root, "real", "metrics.json")))!.AsObject();
        Assert.Equal(250, real["samples"]!.GetValue<int>()); // every training caption, no more
        Assert.Equal(1.0, real["train_copy_rate"]!.GetValue<double>());
    }

    [Fact]
    public void Mistakes_are_reported_with_what_to_do()
    {
        var withoutSplit = PublishTinyBundle(withSplit: false);
        Assert.Contains("--references FILE", Fails("--bundle", withoutSplit.Directory));
        Assert.Contains("no such file", Fails("--bundle", withoutSplit.Directory, "--references", Path.Combine(_root, "missing.txt")));
        Assert.Contains("--latent-source prior", Fails("--bundle", withoutSplit.Directory, "--latent-source", "generator"));
        Assert.Contains("does not exist", Fails("--bundle", Path.Combine(_root, "store", "bundles", "nope")));
        Assert.Contains("has no bundle", Fails("--store", Path.Combine(_root, "empty-store")));
        Assert.Contains("--samples takes a whole number", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--samples", "-3"])).Message);
        Assert.Contains("(0, 10]", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--sweep", "0.8,NaN"])).Message);
        Assert.Contains("unknown option", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--bogus"])).Message);
        Assert.Contains("needs a value", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--out"])).Message);
        Assert.Contains("--best-of takes a whole number from 1 to 16", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--best-of", "17"])).Message);
        Assert.Equal(4, EvalArguments.Parse(["--best-of", "4"]).BestOf);
        // A VAE bundle has no discriminator to rank candidates with.
        Assert.Contains("no discriminator", Fails("--bundle", PublishTinyBundle(withSplit: true).Directory, "--best-of", "2", "--no-sweep", "--samples", "10"));
    }

    [Fact]
    public void A_plain_language_model_is_mixed_in_from_the_bundle_itself_or_from_another_bundle()
    {
        var withheld = PublishTinyBundle(withSplit: true, unconditionalRate: 0.3);
        var conditional = PublishTinyBundle(withSplit: true);
        var plain = PublishTinyBundle(withSplit: true, plainLanguageModel: true);
        JsonObject Evaluate(string name, params string[] options)
        {
            Run(["--samples", "40", "--no-sweep", "--out", Path.Combine(_root, name), .. options]);
            return JsonNode.Parse(File.ReadAllText(Path.Combine(_root, name, "metrics.json")))!.AsObject();
        }

        var own = Evaluate("own", "--bundle", withheld.Directory, "--lm-weight", "0.5");
        Assert.Equal(0.5, own["lm_weight"]!.GetValue<double>());
        Assert.Equal("self", own["lm_bundle"]!.GetValue<string>());
        Assert.Contains("its own LM at w 0.5", own["model"]!.GetValue<string>());
        var alone = Evaluate("alone", "--bundle", withheld.Directory);
        Assert.Equal(0, alone["lm_weight"]!.GetValue<double>());
        Assert.Null(alone["lm_bundle"]);
        Assert.NotEqual(File.ReadAllLines(Path.Combine(_root, "alone", "samples.txt")), File.ReadAllLines(Path.Combine(_root, "own", "samples.txt")));

        var other = Evaluate("other", "--bundle", conditional.Directory, "--lm-weight", "0.7", "--lm-bundle", plain.Directory);
        Assert.Equal(plain.Version, other["lm_bundle"]!.GetValue<string>());
        Assert.Equal(40, File.ReadAllLines(Path.Combine(_root, "other", "samples.txt")).Length);
        // A plain language model mixed with itself is the same model: nothing is mixed.
        var self = Evaluate("self", "--bundle", plain.Directory, "--lm-weight", "0.5");
        Assert.Equal(0, self["lm_weight"]!.GetValue<double>());
        Evaluate("plain", "--bundle", plain.Directory);
        Assert.Equal(File.ReadAllLines(Path.Combine(_root, "plain", "samples.txt")), File.ReadAllLines(Path.Combine(_root, "self", "samples.txt")));

        Assert.Contains("pass --lm-bundle DIR", Fails("--bundle", conditional.Directory, "--lm-weight", "0.5", "--no-sweep"));
        Assert.Contains("pass a plain language model's bundle", Fails("--bundle", withheld.Directory, "--lm-weight", "0.5", "--lm-bundle", conditional.Directory, "--no-sweep"));
        Assert.Contains("--lm-bundle needs --lm-weight above 0", Fails("--bundle", conditional.Directory, "--lm-bundle", plain.Directory, "--no-sweep"));
        Assert.Contains("no decoder to mix", Fails("--bundle", conditional.Directory, "--baseline", "kn4", "--lm-weight", "0.5", "--no-sweep"));
        var otherVocabulary = PublishTinyBundle(withSplit: true, plainLanguageModel: true, skipLines: 300);
        Assert.Contains("must share a vocabulary", Fails("--bundle", conditional.Directory, "--lm-weight", "0.5", "--lm-bundle", otherVocabulary.Directory, "--no-sweep"));
        Assert.Contains("--lm-weight takes a weight in [0, 1]", Assert.Throws<ArgumentException>(() => EvalArguments.Parse(["--lm-weight", "1.5"])).Message);
    }

    private void Run(params string[] args) => new EvalRunner(EvalArguments.Parse(args), TextWriter.Null).Run(CancellationToken.None);

    private string Fails(params string[] args) => Assert.Throws<EvalException>(() => Run(args)).Message;

    private string WriteLines(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>
    /// A VAE trained for a few seconds on 250 COCO captions, 50 more held out, with its vocabulary in
    /// the store (captions from <paramref name="skipLines"/> on: another vocabulary).
    /// </summary>
    private ModelBundle PublishTinyBundle(bool withSplit, double unconditionalRate = 0, bool plainLanguageModel = false, int skipLines = 0)
    {
        var store = Path.Combine(_root, "store");
        var lines = RepositoryPaths.CocoLines(300 + skipLines).Skip(skipLines).ToArray();
        var vocabulary = InProcessTokenizer.TrainVocabulary(lines);
        new VocabularyStore(store).Save(vocabulary);
        var tokenizer = ByteLevelBpeTokenizer.Create(vocabulary);
        var config = new VaeConfig { VocabularySize = tokenizer.VocabularySize, EmbeddingSize = 32, HiddenSize = 48, LatentSize = 8, UsesLatent = !plainLanguageModel };
        var options = new VaeTrainingOptions { Epochs = 25, BatchSize = 32, Seed = 5, LearningRate = 3e-3, UnconditionalRate = unconditionalRate };
        var sentences = lines.Take(250).Select(l => tokenizer.Encode(l).ToArray()).ToArray();
        using var trainer = new VaeTrainer(config, options, sentences);
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
        }
        return BundleWriter.PublishVae(new ModelBundleStore(store), trainer.Model, options,
            new BundleOrigin($"eval{Guid.NewGuid():N}"[..12], "coco", "coco", "corpus-sha", vocabulary.Version),
            new Dictionary<string, double>(), split: withSplit ? new TrainingSplit(new CorpusSplit(lines.Take(250).ToArray(), lines.Skip(250).ToArray()), sentences) : null);
    }
}
