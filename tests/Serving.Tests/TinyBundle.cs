using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.TestSupport;
using LlmMesh.Tokenization;

namespace LlmMesh.Serving.Tests;

/// <summary>
/// A model store with a small vocabulary and a tiny VAE bundle trained on it in seconds, for
/// tests of the serving services.
/// </summary>
public sealed class TinyBundle : IDisposable
{
    /// <param name="unconditionalRate">Of the training sentences, those the decoder reads with the code withheld (a plain language model inside).</param>
    public TinyBundle(int epochs = 3, int lines = 600, long seed = 1, double unconditionalRate = 0)
    {
        _unconditionalRate = unconditionalRate;
        StoreRoot = Directory.CreateTempSubdirectory("llmmesh-store-").FullName;
        Lines = RepositoryPaths.CocoLines(lines);
        Vocabulary = InProcessTokenizer.TrainVocabulary(Lines);
        new VocabularyStore(StoreRoot).Save(Vocabulary);
        Tokenizer = ByteLevelBpeTokenizer.Create(Vocabulary);
        Sentences = Lines.Select(line => Tokenizer.Encode(line).ToArray()).ToArray();
        Bundle = Publish(epochs, seed);
    }

    private readonly double _unconditionalRate;

    public string StoreRoot { get; }

    public BpeVocabulary Vocabulary { get; }

    public ByteLevelBpeTokenizer Tokenizer { get; }

    /// <summary>The corpus: every line is a training line of the bundles (indexed for Encoder.Nearest).</summary>
    public IReadOnlyList<string> Lines { get; }

    public IReadOnlyList<int[]> Sentences { get; }

    public ModelBundle Bundle { get; }

    public ModelBundleStore Store => new(StoreRoot);

    /// <summary>Trains and publishes another bundle (a newer version) into the same store.</summary>
    public ModelBundle Publish(int epochs, long seed)
    {
        var config = new VaeConfig { VocabularySize = Tokenizer.VocabularySize, EmbeddingSize = 24, HiddenSize = 48, LatentSize = 8 };
        var options = new VaeTrainingOptions
        {
            Epochs = epochs, BatchSize = 32, Seed = seed, LearningRate = 3e-3, KlSchedule = KlSchedule.Linear, KlAnnealSteps = 40, UnconditionalRate = _unconditionalRate,
        };
        using var trainer = new VaeTrainer(config, options, Sentences);
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
        }
        return BundleWriter.PublishVae(Store, trainer.Model, options, Origin($"tiny{seed}"),
            new Dictionary<string, double> { ["validation_nll_per_token"] = 0 }, split: new TrainingSplit(new CorpusSplit(Lines, []), Sentences));
    }

    /// <summary>
    /// An ARAE bundle from the tiny VAE with an untrained latent GAN and fluency discriminator:
    /// enough for serving paths that need one (latent generator, best-of scoring).
    /// </summary>
    public ModelBundle PublishArae(long seed = 2)
    {
        using var vae = BundleModules.LoadVae(Bundle);
        using var random = new TorchSharp.torch.Generator((ulong)seed, TorchSharp.torch.CPU);
        var ganConfig = new LatentGanConfig { LatentSize = vae.Config.LatentSize, NoiseSize = 4, HiddenSize = 16 };
        using var generator = new LatentGenerator(ganConfig);
        using var critic = new LatentCritic(ganConfig);
        using var fluency = new TextDiscriminator(new TextDiscriminatorConfig { VocabularySize = vae.Config.VocabularySize, EmbeddingSize = 8, HiddenSize = 8 });
        generator.ResetParameters(random);
        critic.ResetParameters(random);
        fluency.ResetParameters(random);
        var identity = new DiscriminatorCalibration(new LogisticCalibration([1.0], 0), new LogisticCalibration([1.0, 1.0], 0));
        return BundleWriter.PublishArae(Store, vae, new VaeTrainingOptions(), generator, critic, new AdversarialOptions(), fluency, identity,
            Origin($"arae{seed}"), new Dictionary<string, double>());
    }

    /// <summary>Bundles of the mesh's default model, trained on the test corpus.</summary>
    private BundleOrigin Origin(string runId) => new(runId, BundleManifest.LegacyModel, "test-corpus", "test-corpus-sha", Vocabulary.Version);

    public void Dispose() => Directory.Delete(StoreRoot, recursive: true);
}
