using System.Text.Json;
using System.Text.Json.Nodes;
using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>Reads and writes sentence-VAE weights and settings in model bundles.</summary>
public static class VaeBundle
{
    public const string Kind = "sentence-vae";
    public const string WeightsFile = "vae.pt";

    public static ModelBundle Publish(
        ModelBundleStore store, SentenceVae model, VaeTrainingOptions training, string runId, string corpusSha256,
        string vocabularyVersion, IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters = null, CorpusSplit? split = null) =>
        PublishWithVae(store, Kind, model, training, [], runId, corpusSha256, vocabularyVersion, metrics, extraHyperparameters, split, _ => { });

    /// <summary>
    /// Publishes a bundle that holds a VAE: its weights, its encoder and decoder as ONNX graphs and the corpus
    /// split, with the model and training settings (plus <paramref name="sections"/> and
    /// <paramref name="extraHyperparameters"/>) in the manifest; <paramref name="writeMore"/> adds the kind's own files.
    /// </summary>
    internal static ModelBundle PublishWithVae(
        ModelBundleStore store, string kind, SentenceVae vae, VaeTrainingOptions training, JsonObject sections, string runId, string corpusSha256,
        string vocabularyVersion, IReadOnlyDictionary<string, double> metrics, JsonObject? extraHyperparameters, CorpusSplit? split, Action<string> writeMore)
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
        var manifest = new BundleManifest
        {
            Kind = kind,
            RunId = runId,
            CorpusSha256 = corpusSha256,
            TokenizerVersion = vocabularyVersion,
            Hyperparameters = hyperparameters,
            Metrics = new Dictionary<string, double>(metrics),
        };
        return store.Publish(manifest, directory =>
        {
            vae.save(Path.Combine(directory, WeightsFile));
            OnnxExport.WriteVae(vae, directory);
            split?.WriteTo(directory);
            writeMore(directory);
        });
    }

    /// <summary>Bundle kinds that hold a sentence VAE.</summary>
    public static IReadOnlyList<string> KindsWithVae { get; } = [Kind, AraeBundle.Kind];

    /// <summary>Loads the VAE of a verified bundle; refuses weights that do not fit the stored architecture.</summary>
    public static SentenceVae Load(ModelBundle bundle)
    {
        var config = bundle.Manifest.GetHyperparameters<VaeConfig>("model");
        if (!bundle.Manifest.Files.ContainsKey(WeightsFile))
        {
            throw new BundleCorruptException(bundle.Version, $"{WeightsFile} is missing");
        }
        SentenceVae? model = null;
        try
        {
            model = new SentenceVae(config);
            model.load(bundle.PathOf(WeightsFile), strict: true);
            model.eval();
            return model;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            model?.Dispose();
            throw new BundleIncompatibleException(bundle.Version, $"{WeightsFile} does not fit the model in manifest.json ({ex.Message})");
        }
    }

    public static VaeConfig ReadConfig(ModelBundle bundle) => bundle.Manifest.GetHyperparameters<VaeConfig>("model");
}
