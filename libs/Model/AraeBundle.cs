using System.Text.Json;
using System.Text.Json.Nodes;
using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>How the discriminator turns raw scores into probabilities that an input is real.</summary>
public sealed record DiscriminatorCalibration(
    /// <summary>Latent inputs: p = sigmoid(w * critic + b).</summary>
    LogisticCalibration Latent,
    /// <summary>Text inputs: p = sigmoid(w1 * critic(mu) + w2 * text logit + b).</summary>
    LogisticCalibration Text);

/// <summary>
/// An ARAE-style bundle: the sentence VAE plus the latent GAN (generator and critic), the text
/// discriminator and the calibration of their scores. Services that need only the VAE read it
/// like a sentence-VAE bundle.
/// </summary>
public static class AraeBundle
{
    public const string Kind = "arae";
    public const string LatentGeneratorFile = "latent-generator.pt";
    public const string CriticFile = "latent-critic.pt";
    public const string TextDiscriminatorFile = "text-discriminator.pt";
    public const string CalibrationFile = "calibration.json";

    public static ModelBundle Publish(
        ModelBundleStore store, SentenceVae vae, VaeTrainingOptions training, LatentGenerator generator, LatentCritic critic,
        AdversarialOptions adversarial, TextDiscriminator textDiscriminator, DiscriminatorCalibration calibration,
        string runId, string corpusSha256, string vocabularyVersion, IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters = null,
        CorpusSplit? split = null)
    {
        JsonObject sections = new()
        {
            ["latent_gan"] = JsonSerializer.SerializeToNode(generator.Config, BundleManifest.JsonOptions),
            ["adversarial"] = JsonSerializer.SerializeToNode(adversarial, BundleManifest.JsonOptions),
            ["text_discriminator"] = JsonSerializer.SerializeToNode(textDiscriminator.Config, BundleManifest.JsonOptions),
        };
        return VaeBundle.PublishWithVae(store, Kind, vae, training, sections, runId, corpusSha256, vocabularyVersion, metrics, extraHyperparameters, split,
            directory =>
            {
                generator.save(Path.Combine(directory, LatentGeneratorFile));
                OnnxExport.WriteLatentGenerator(generator, directory);
                critic.save(Path.Combine(directory, CriticFile));
                OnnxExport.WriteCritic(critic, directory);
                textDiscriminator.save(Path.Combine(directory, TextDiscriminatorFile));
                OnnxExport.WriteTextDiscriminator(textDiscriminator, directory);
                File.WriteAllBytes(Path.Combine(directory, CalibrationFile), JsonSerializer.SerializeToUtf8Bytes(calibration, BundleManifest.JsonOptions));
            });
    }

    public static LatentGenerator LoadLatentGenerator(ModelBundle bundle) =>
        Load(bundle, LatentGeneratorFile, () => new LatentGenerator(bundle.Manifest.GetHyperparameters<LatentGanConfig>("latent_gan")));

    public static LatentCritic LoadCritic(ModelBundle bundle) =>
        Load(bundle, CriticFile, () => new LatentCritic(bundle.Manifest.GetHyperparameters<LatentGanConfig>("latent_gan")));

    public static TextDiscriminator LoadTextDiscriminator(ModelBundle bundle) =>
        Load(bundle, TextDiscriminatorFile, () => new TextDiscriminator(bundle.Manifest.GetHyperparameters<TextDiscriminatorConfig>("text_discriminator")));

    public static DiscriminatorCalibration ReadCalibration(ModelBundle bundle)
    {
        RequireFile(bundle, CalibrationFile);
        try
        {
            return JsonSerializer.Deserialize<DiscriminatorCalibration>(File.ReadAllBytes(bundle.PathOf(CalibrationFile)), BundleManifest.JsonOptions)
                ?? throw new BundleCorruptException(bundle.Version, $"{CalibrationFile} is empty");
        }
        catch (JsonException ex)
        {
            throw new BundleCorruptException(bundle.Version, $"{CalibrationFile} cannot be read ({ex.Message})");
        }
    }

    private static T Load<T>(ModelBundle bundle, string file, Func<T> create) where T : TorchSharp.torch.nn.Module
    {
        RequireFile(bundle, file);
        T? module = null;
        try
        {
            module = create();
            module.load(bundle.PathOf(file), strict: true);
            module.eval();
            return module;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            module?.Dispose();
            throw new BundleIncompatibleException(bundle.Version, $"{file} does not fit the model in manifest.json ({ex.Message})");
        }
    }

    private static void RequireFile(ModelBundle bundle, string file)
    {
        if (!bundle.Manifest.Files.ContainsKey(file))
        {
            throw new BundleIncompatibleException(bundle.Version, $"it has no {file}");
        }
    }
}
