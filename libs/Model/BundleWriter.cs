using System.Text.Json;
using System.Text.Json.Nodes;
using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>Publishes bundles: the networks' weights, their ONNX graphs, settings and metrics.</summary>
public static class BundleWriter
{
    /// <summary>A sentence-VAE bundle (or a plain language model's).</summary>
    public static ModelBundle PublishVae(
        ModelBundleStore store, SentenceVae model, VaeTrainingOptions training, BundleOrigin origin,
        IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters = null, TrainingSplit? split = null) =>
        PublishWithVae(store, VaeBundle.Kind, model, training, [], origin, metrics, extraHyperparameters, split, _ => { });

    /// <summary>An ARAE bundle: the VAE, the latent GAN, the text discriminator and the calibration of their scores.</summary>
    public static ModelBundle PublishArae(
        ModelBundleStore store, SentenceVae vae, VaeTrainingOptions training, LatentGenerator generator, LatentCritic critic,
        AdversarialOptions adversarial, TextDiscriminator textDiscriminator, DiscriminatorCalibration calibration,
        BundleOrigin origin, IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters = null, TrainingSplit? split = null)
    {
        JsonObject sections = new()
        {
            ["latent_gan"] = JsonSerializer.SerializeToNode(generator.Config, BundleManifest.JsonOptions),
            ["adversarial"] = JsonSerializer.SerializeToNode(adversarial, BundleManifest.JsonOptions),
            ["text_discriminator"] = JsonSerializer.SerializeToNode(textDiscriminator.Config, BundleManifest.JsonOptions),
        };
        return PublishWithVae(store, AraeBundle.Kind, vae, training, sections, origin, metrics, extraHyperparameters, split,
            directory =>
            {
                generator.save(Path.Combine(directory, AraeBundle.LatentGeneratorFile));
                OnnxExport.WriteLatentGenerator(generator, directory);
                critic.save(Path.Combine(directory, AraeBundle.CriticFile));
                OnnxExport.WriteCritic(critic, directory);
                textDiscriminator.save(Path.Combine(directory, AraeBundle.TextDiscriminatorFile));
                OnnxExport.WriteTextDiscriminator(textDiscriminator, directory);
                File.WriteAllBytes(Path.Combine(directory, AraeBundle.CalibrationFile), JsonSerializer.SerializeToUtf8Bytes(calibration, BundleManifest.JsonOptions));
            });
    }

    /// <summary>
    /// Publishes a bundle that holds a VAE: its weights, its encoder and decoder as ONNX graphs, the corpus
    /// split and the index of its training sentences' codes, with the model and training settings (plus <paramref name="sections"/> and
    /// <paramref name="extraHyperparameters"/>) in the manifest; <paramref name="writeMore"/> adds the kind's own files.
    /// </summary>
    private static ModelBundle PublishWithVae(
        ModelBundleStore store, string kind, SentenceVae vae, VaeTrainingOptions training, JsonObject sections, BundleOrigin origin,
        IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters, TrainingSplit? split, Action<string> writeMore)
    {
        var hyperparameters = new JsonObject
        {
            ["model"] = JsonSerializer.SerializeToNode(vae.Config, BundleManifest.JsonOptions),
            ["training"] = JsonSerializer.SerializeToNode(training, BundleManifest.JsonOptions),
        };
        foreach (var (name, value) in sections.Concat(extraHyperparameters ?? []))
        {
            hyperparameters[name] = value?.DeepClone();
        }
        var manifest = BundleManifest.For(kind, origin) with { Hyperparameters = hyperparameters, Metrics = new Dictionary<string, double>(metrics) };
        var index = split is null ? null : BuildIndex(vae, split);
        return store.Publish(manifest, directory =>
        {
            vae.save(Path.Combine(directory, VaeBundle.WeightsFile));
            OnnxExport.WriteVae(vae, directory);
            split?.Lines.WriteTo(directory);
            index?.WriteTo(directory);
            writeMore(directory);
        });
    }

    /// <summary>The posterior means of the training sentences, for <c>Encoder.Nearest</c>.</summary>
    private static LatentIndex BuildIndex(SentenceVae vae, TrainingSplit split)
    {
        using var mu = AraeEvaluation.Encode(vae, split.TrainSentences);
        var codes = mu.data<float>().ToArray().Chunk(vae.Config.LatentSize).ToArray();
        return LatentIndex.Build(split.Lines.Train, codes);
    }
}

/// <summary>A corpus split with its training lines tokenized (in the same order).</summary>
public sealed record TrainingSplit(CorpusSplit Lines, IReadOnlyList<int[]> TrainSentences);
