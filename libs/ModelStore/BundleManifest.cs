using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LlmMesh.ModelStore;

public sealed record BundleFile(string Sha256, long Bytes);

/// <summary>Where a bundle comes from: the run, the model it is a version of, and what it was trained on.</summary>
public sealed record BundleOrigin(string RunId, string Model, string Corpus, string CorpusSha256, string VocabularyVersion);

/// <summary>manifest.json of a model bundle.</summary>
public sealed record BundleManifest
{
    public const int CurrentFormat = 1;
    public const string FileName = "manifest.json";

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int Format { get; init; } = CurrentFormat;
    /// <summary>What the bundle holds, e.g. "sentence-vae"; loaders refuse kinds they do not know.</summary>
    public required string Kind { get; init; }
    public string Version { get; init; } = "";
    public DateTimeOffset CreatedAt { get; init; }
    public required string RunId { get; init; }
    /// <summary>The named model this bundle is a version of; empty in bundles from before named models (see <see cref="ModelName"/>).</summary>
    public string Model { get; init; } = "";
    /// <summary>The corpus name (or path) the run trained on; empty in older bundles.</summary>
    public string Corpus { get; init; } = "";
    public required string CorpusSha256 { get; init; }
    public required string TokenizerVersion { get; init; }
    public JsonObject Hyperparameters { get; init; } = [];
    public Dictionary<string, double> Metrics { get; init; } = [];
    /// <summary>sha256 and size of every other file in the bundle.</summary>
    public Dictionary<string, BundleFile> Files { get; init; } = [];

    /// <summary>Bundles from before named models were all trained on the shipped COCO corpus.</summary>
    public const string LegacyModel = "coco";

    [JsonIgnore]
    public string ModelName => Model.Length > 0 ? Model : LegacyModel;

    public static BundleManifest For(string kind, BundleOrigin origin) => new()
    {
        Kind = kind,
        RunId = origin.RunId,
        Model = origin.Model,
        Corpus = origin.Corpus,
        CorpusSha256 = origin.CorpusSha256,
        TokenizerVersion = origin.VocabularyVersion,
    };

    public T GetHyperparameters<T>(string name) =>
        Hyperparameters[name] is { } node
            ? node.Deserialize<T>(JsonOptions) ?? throw new BundleIncompatibleException(Version, $"hyperparameters.{name} is empty")
            : throw new BundleIncompatibleException(Version, $"hyperparameters.{name} is missing");
}
