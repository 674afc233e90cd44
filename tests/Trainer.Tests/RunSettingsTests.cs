using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.Trainer.Corpora;
using LlmMesh.Trainer.Runs;

namespace LlmMesh.Trainer.Tests;

public sealed class RunSettingsTests
{
    [Theory]
    [InlineData("", "coco", "coco")]
    [InlineData("poems", "", "poems")]
    [InlineData("my-poems", "poems", "poems")]
    [InlineData("texts/poems.txt", "", "poems")]
    public void The_model_is_named_by_the_request_or_else_by_its_corpus(string corpus, string model, string expected) =>
        Assert.Equal(expected, RunSettings.FromRequest(new StartRunRequest { Corpus = corpus, Model = model }).Model);

    [Theory]
    [InlineData("poems", "my poems", "model 'my poems' is not a model name")]
    [InlineData("texts/my poems.txt", "", "name the model")]
    public void A_model_name_outside_the_pattern_is_refused(string corpus, string model, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => RunSettings.FromRequest(new StartRunRequest { Corpus = corpus, Model = model })).Message);

    [Fact]
    public void Unset_fields_take_the_preset_and_set_fields_override_it()
    {
        var quick = RunSettings.FromRequest(new StartRunRequest { Seed = 3 });
        Assert.Equal(TrainingPresets.QuickPreset with
        {
            Model = "coco", // the corpus names the model
            Training = TrainingPresets.QuickPreset.Training with { Seed = 3 },
            Adversarial = TrainingPresets.QuickPreset.Adversarial with { Seed = 3 },
        }, quick);

        var custom = RunSettings.FromRequest(new StartRunRequest
        {
            Preset = "FULL",
            Steps = 500,
            Hyperparameters = new Hyperparameters { WordDropout = 0.5, KlSchedule = "Logistic", LatentSize = 16, BagOfWordsWeight = 0.5, KeptEpochTolerance = 0.05 },
        });
        Assert.Equal(0.05, custom.KeptEpochTolerance);
        Assert.Equal("full", custom.Preset);
        Assert.Equal(500, custom.Training.Steps);
        Assert.Equal(0, custom.Training.Epochs); // steps alone bound the run
        Assert.Equal(0.5, custom.Training.WordDropout);
        Assert.Equal(0.5, custom.Training.BagOfWordsWeight);
        Assert.Equal(KlSchedule.Logistic, custom.Training.KlSchedule);
        Assert.Equal(16, custom.LatentSize);
        Assert.Equal(TrainingPresets.FullPreset.HiddenSize, custom.HiddenSize);

        var regularised = RunSettings.FromRequest(new StartRunRequest
        {
            Hyperparameters = new Hyperparameters { Dropout = 0.4, TieEmbeddings = true, SplitSeed = 9, LearningRateSchedule = "COSINE" },
        });
        Assert.Equal((0.4, true, 9, LearningRateSchedule.Cosine),
            (regularised.ModelConfig(100).Dropout, regularised.ModelConfig(100).TieEmbeddings, regularised.SplitSeed, regularised.Training.LearningRateSchedule));
    }

    [Theory]
    [InlineData("dropout")]
    [InlineData("learning_rate_schedule")]
    [InlineData("kl_schedule")]
    public void Bad_regularisation_settings_are_refused_naming_the_field(string field)
    {
        var hyperparameters = field switch
        {
            "dropout" => new Hyperparameters { Dropout = 1.0 },
            "learning_rate_schedule" => new Hyperparameters { LearningRateSchedule = "2" },
            _ => new Hyperparameters { KlSchedule = "sideways" },
        };
        var error = Assert.Throws<ArgumentException>(() => RunSettings.FromRequest(new StartRunRequest { Hyperparameters = hyperparameters }));
        Assert.StartsWith(field, error.Message);
    }

    [Theory]
    [InlineData("bag_of_words_weight")]
    [InlineData("latent_to_output")]
    [InlineData("unconditional_rate")]
    public void Settings_of_the_code_on_a_plain_language_model_are_refused_as_it_has_no_code(string field)
    {
        var hyperparameters = field switch
        {
            "latent_to_output" => new Hyperparameters { LatentToOutput = true },
            "unconditional_rate" => new Hyperparameters { UnconditionalRate = 0.2 },
            _ => new Hyperparameters { BagOfWordsWeight = 1 },
        };
        var error = Assert.Throws<ArgumentException>(() => RunSettings.FromRequest(new StartRunRequest { Preset = "lm", Hyperparameters = hyperparameters }));
        Assert.StartsWith(field, error.Message);
        var quick = RunSettings.FromRequest(new StartRunRequest { Preset = "quick", Hyperparameters = hyperparameters });
        Assert.Equal(field == "latent_to_output", quick.ModelConfig(100).LatentToOutput);
        Assert.Equal(field == "bag_of_words_weight" ? 1 : 0, quick.Training.BagOfWordsWeight);
        Assert.Equal(field == "unconditional_rate" ? 0.2 : 0, quick.Training.UnconditionalRate);
    }

    [Fact]
    public void The_language_model_weight_of_the_recommended_sampling_needs_codes_withheld()
    {
        RunSettings Resolve(Hyperparameters h) => RunSettings.FromRequest(new StartRunRequest { Preset = "quick", Hyperparameters = h });

        Assert.Equal(0, Resolve(new Hyperparameters()).SamplingLmWeight);
        Assert.Equal(0.6, Resolve(new Hyperparameters { UnconditionalRate = 0.2, SamplingLmWeight = 0.6 }).SamplingLmWeight);
        Assert.StartsWith("sampling_lm_weight mixes in", Assert.Throws<ArgumentException>(() => Resolve(new Hyperparameters { SamplingLmWeight = 0.6 })).Message);
        foreach (var bad in new[] { -0.1, 1.2 })
        {
            Assert.StartsWith("sampling_lm_weight must be in [0, 1]",
                Assert.Throws<ArgumentException>(() => Resolve(new Hyperparameters { UnconditionalRate = 0.2, SamplingLmWeight = bad })).Message);
        }
        Assert.StartsWith("sampling_lm_weight", Assert.Throws<ArgumentException>(() => Resolve(new Hyperparameters { UnconditionalRate = 0.2, SamplingLmWeight = double.NaN })).Message);
    }

    [Fact]
    public void The_lm_preset_is_the_full_decoder_as_a_plain_language_model_on_the_same_split()
    {
        var lm = RunSettings.FromRequest(new StartRunRequest { Preset = "lm", Seed = 1 });
        var full = RunSettings.FromRequest(new StartRunRequest { Preset = "full", Seed = 1 });
        Assert.False(lm.UsesLatent);
        Assert.False(lm.ModelConfig(100).UsesLatent);
        Assert.False(lm.HasAdversarialPhase);
        Assert.Equal(0, lm.Training.WordDropout);
        // As well regularised as the latent model, with the same early stopping and evaluation.
        Assert.Equal((full.EmbeddingSize, full.HiddenSize, full.Dropout, full.TieEmbeddings, full.ValidationFraction, full.SplitSeed, full.EvaluationSamples),
            (lm.EmbeddingSize, lm.HiddenSize, lm.Dropout, lm.TieEmbeddings, lm.ValidationFraction, lm.SplitSeed, lm.EvaluationSamples));
        Assert.True(lm.Dropout > 0 && lm.TieEmbeddings);
        var corpus = File.ReadAllLines(RepositoryPaths.CocoCorpus);
        var lmSplit = TrainingRunner.Split(corpus, lm);
        var fullSplit = TrainingRunner.Split(corpus, full with { Training = full.Training with { Seed = 2 } });
        Assert.Equal(fullSplit.Train, lmSplit.Train);
        Assert.Equal(fullSplit.HeldOut, lmSplit.HeldOut);

        // Asking any preset for a plain language model drops its adversarial phase and the code's way to the output layer.
        var plainQuick = RunSettings.FromRequest(new StartRunRequest { Hyperparameters = new Hyperparameters { PlainLanguageModel = true } });
        Assert.False(plainQuick.HasAdversarialPhase);
        Assert.True(full.ModelConfig(100).LatentToOutput);
        Assert.False(lm.ModelConfig(100).LatentToOutput);
        var plainFull = RunSettings.FromRequest(new StartRunRequest { Preset = "full", Hyperparameters = new Hyperparameters { PlainLanguageModel = true } });
        Assert.False(plainFull.HasAdversarialPhase || plainFull.ModelConfig(100).LatentToOutput);
        Assert.Equal((0.0, 0.0), (plainFull.Training.UnconditionalRate, plainFull.SamplingLmWeight));
        // The full preset's decoder is also a plain language model, mixed into its recommended sampling.
        Assert.Equal((0.2, 0.7), (full.Training.UnconditionalRate, full.SamplingLmWeight));
        Assert.Equal((0.0, 0.0), (lm.Training.UnconditionalRate, lm.SamplingLmWeight));
    }

    [Fact]
    public void The_kept_epoch_is_chosen_for_reconstruction_only_where_there_is_a_code()
    {
        Assert.Equal(0.05, RunSettings.FromRequest(new StartRunRequest { Preset = "full", Seed = 1 }).KeptEpochTolerance);
        Assert.Equal(0, RunSettings.FromRequest(new StartRunRequest { Preset = "lm", Seed = 1 }).KeptEpochTolerance);
        Assert.Equal(0, RunSettings.FromRequest(new StartRunRequest { Preset = "full", Hyperparameters = new Hyperparameters { PlainLanguageModel = true } }).KeptEpochTolerance);
        var error = Assert.Throws<ArgumentException>(() => RunSettings.FromRequest(new StartRunRequest
        {
            Preset = "lm",
            Hyperparameters = new Hyperparameters { KeptEpochTolerance = 0.05 },
        }));
        Assert.StartsWith("kept_epoch_tolerance", error.Message);
    }

    [Fact]
    public void Best_of_sampling_is_recommended_only_where_a_discriminator_can_rank_candidates()
    {
        Assert.Equal(4, RunSettings.FromRequest(new StartRunRequest { Preset = "full", Seed = 1 }).SamplingBestOf);
        Assert.Equal(1, RunSettings.FromRequest(new StartRunRequest { Preset = "quick", Seed = 1 }).SamplingBestOf);
        Assert.Equal(1, RunSettings.FromRequest(new StartRunRequest { Preset = "lm", Seed = 1 }).SamplingBestOf);
        // The full preset without its adversarial phase, or as a plain language model, has no discriminator.
        Assert.Equal(1, RunSettings.FromRequest(new StartRunRequest { Preset = "full", Hyperparameters = new Hyperparameters { AdversarialSteps = 0 } }).SamplingBestOf);
        Assert.Equal(1, RunSettings.FromRequest(new StartRunRequest { Preset = "full", Hyperparameters = new Hyperparameters { PlainLanguageModel = true } }).SamplingBestOf);
        Assert.Equal(2, RunSettings.FromRequest(new StartRunRequest { Hyperparameters = new Hyperparameters { SamplingBestOf = 2 } }).SamplingBestOf);

        string Refused(Hyperparameters h) => Assert.Throws<ArgumentException>(() => RunSettings.FromRequest(new StartRunRequest { Preset = "full", Hyperparameters = h })).Message;
        Assert.StartsWith("sampling_best_of", Refused(new Hyperparameters { SamplingBestOf = 17 }));
        Assert.StartsWith("sampling_best_of", Refused(new Hyperparameters { SamplingBestOf = 0 }));
        Assert.Contains("adversarial phase", Refused(new Hyperparameters { SamplingBestOf = 2, AdversarialSteps = 0 }));
    }

    [Fact]
    public void Without_a_seed_a_run_gets_one_and_records_it()
    {
        var settings = RunSettings.FromRequest(new StartRunRequest());
        Assert.True(settings.Training.Seed > 0);
        Assert.Contains($"\"seed\": {settings.Training.Seed}", settings.ToJson());
    }
}

public sealed class CorpusResolverTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-corpora-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("llmmesh-outside-").FullName;

    public CorpusResolverTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "coco"));
        File.WriteAllText(Path.Combine(_root, "coco", "train.txt"), "a cat\n");
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "secret\n");
    }

    [Fact]
    public void Names_and_relative_paths_resolve_inside_the_data_folder()
    {
        var resolver = new CorpusResolver(_root);
        Assert.Equal(Path.Combine(_root, "coco", "train.txt"), resolver.Resolve("coco"));
        Assert.Equal(Path.Combine(_root, "coco", "train.txt"), resolver.Resolve("coco/train.txt"));
        Assert.Equal(Path.Combine(_root, "coco", "train.txt"), resolver.Resolve(Path.Combine(_root, "coco", "train.txt")));
    }

    [Fact]
    public void Links_that_lead_out_of_the_data_folder_are_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "coco", "leak.txt"), Path.Combine(_outside, "secret.txt"));
        var resolver = new CorpusResolver(_root);

        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => resolver.Resolve("escape/secret.txt")).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => resolver.Resolve("coco/leak.txt")).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => resolver.Resolve("../" + Path.GetFileName(_outside) + "/secret.txt")).Message);
        Assert.Throws<CorpusNotFoundException>(() => resolver.Resolve("escape"));
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }
}

public sealed class RunRepositoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-runs-").FullName;

    [Fact]
    public void A_record_from_before_the_adversarial_phase_reads_as_a_vae_only_run()
    {
        var legacy = """
            {"runId":"0123456789ab","settings":{"preset":"quick","corpus":"coco","embeddingSize":128,"hiddenSize":256,"latentSize":32,
             "training":{"epochs":12,"seed":1},"validationFraction":0.05,"checkpointEverySteps":200,"vocabularyVersion":""},
             "status":"Completed","createdAt":"2026-11-28T12:53:03Z","updatedAt":"2026-11-28T12:56:20Z"}
            """;
        Directory.CreateDirectory(Path.Combine(_root, "0123456789ab"));
        File.WriteAllText(Path.Combine(_root, "0123456789ab", "run.json"), legacy);

        var record = Assert.Single(new RunRepository(_root).List());
        Assert.False(record.Settings.HasAdversarialPhase);
    }

    [Fact]
    public void A_damaged_record_is_skipped_not_fatal()
    {
        Directory.CreateDirectory(Path.Combine(_root, "ba0123456789"));
        File.WriteAllText(Path.Combine(_root, "ba0123456789", "run.json"), "{ not json");
        var repository = new RunRepository(_root);

        Assert.Empty(repository.List());
        Assert.Contains(repository.Unreadable, u => u.RunId == "ba0123456789");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
