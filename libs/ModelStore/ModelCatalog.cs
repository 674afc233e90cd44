using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmMesh.ModelStore;

/// <summary>A named model: its versions (oldest first) and its stable alias, if set.</summary>
public sealed record NamedModel(string Name, IReadOnlyList<BundleManifest> Versions, string? Stable)
{
    public string Latest => Versions[^1].Version;

    /// <summary>What the bare name means: the stable version, or else the newest.</summary>
    public string Default => Stable ?? Latest;

    /// <summary>The aliases that point at <paramref name="version"/>.</summary>
    public IEnumerable<string> AliasesOf(string version)
    {
        if (version == Latest)
        {
            yield return ModelCatalog.LatestAlias;
        }
        if (version == Stable)
        {
            yield return ModelCatalog.StableAlias;
        }
    }
}

/// <summary>A model reference resolved to one bundle version.</summary>
public sealed record ResolvedModel(string Name, string Version);

/// <summary>
/// Names over the bundle store: every bundle is a version of the model its manifest names; a
/// model's versions sort by time; <c>latest</c> is the newest, <c>stable</c> an alias an operator
/// sets (aliases.json beside bundles/, replaced in one rename). References are <c>name</c> (stable,
/// else newest), <c>name@version</c>, <c>name@latest</c>, <c>name@stable</c>, or a bare bundle
/// version. The view is rebuilt when the store changes, so every process sharing the store agrees.
/// </summary>
public sealed partial class ModelCatalog
{
    public const string LatestAlias = "latest";
    public const string StableAlias = "stable";
    public const string AliasesFile = "aliases.json";
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private readonly ModelBundleStore _store;
    private readonly string _aliasesPath;
    private readonly ConcurrentDictionary<string, BundleManifest?> _manifests = new(StringComparer.Ordinal);
    private readonly Lock _writing = new();
    private volatile Snapshot? _snapshot;

    public ModelCatalog(ModelBundleStore store)
    {
        _store = store;
        _aliasesPath = Path.Combine(Path.GetDirectoryName(store.Root)!, AliasesFile);
    }

    public ModelBundleStore Store => _store;

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>Every model with at least one version, by name.</summary>
    public IReadOnlyList<NamedModel> List() => Current().Models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();

    public NamedModel Get(string name)
    {
        RequireName(name);
        return Current().Models.GetValueOrDefault(name) ?? throw ModelNotFound(name);
    }

    /// <summary>
    /// The bundle version a reference means (empty = <paramref name="defaultModel"/>). A bare name
    /// or <c>@latest</c> only resolves to versions <paramref name="servable"/> accepts (a service's
    /// kinds, minus what it refused); an explicit version is returned as it is, for the caller to
    /// load or refuse.
    /// </summary>
    public ResolvedModel Resolve(string reference, string defaultModel, Func<BundleManifest, bool> servable)
    {
        var snapshot = Current();
        if (ModelBundleStore.IsValidVersion(reference))
        {
            return snapshot.ModelOf.TryGetValue(reference, out var owner) ? new ResolvedModel(owner, reference) : throw new BundleNotFoundException(reference);
        }
        var at = reference.IndexOf('@');
        var name = reference.Length == 0 ? defaultModel : at < 0 ? reference : reference[..at];
        var selector = at < 0 ? "" : reference[(at + 1)..];
        RequireName(name);
        var model = snapshot.Models.GetValueOrDefault(name) ?? throw ModelNotFound(name);
        var candidates = model.Versions.Where(servable).Select(v => v.Version).ToArray();
        if (candidates.Length == 0 && selector is "" or LatestAlias)
        {
            throw new MeshException(MeshErrorKind.FailedPrecondition,
                $"model '{name}' has no version this service can serve (of a kind it serves, with a vocabulary the tokenizer has)");
        }
        var version = selector switch
        {
            "" => model.Stable is { } stable && candidates.Contains(stable) ? stable : candidates[^1],
            LatestAlias => candidates[^1],
            StableAlias => model.Stable ?? throw new MeshException(MeshErrorKind.NotFound, $"model '{name}' has no stable version (SetAlias sets one)"),
            _ => model.Versions.Any(v => v.Version == selector) ? selector
                : throw new MeshException(MeshErrorKind.NotFound, $"model '{name}' has no version '{selector}'"),
        };
        return new ResolvedModel(name, version);
    }

    /// <summary>Points <paramref name="alias"/> (only "stable" can be set) at a version of the model; an empty version removes it.</summary>
    public NamedModel SetAlias(string name, string alias, string version)
    {
        if (alias != StableAlias)
        {
            throw new ArgumentException(alias == LatestAlias
                ? "alias 'latest' always names the newest version and cannot be set"
                : $"alias '{alias}' is not an alias that can be set: use '{StableAlias}'");
        }
        lock (_writing)
        {
            var model = Get(name);
            if (version.Length > 0 && model.Versions.All(v => v.Version != version))
            {
                throw new MeshException(MeshErrorKind.NotFound, $"model '{name}' has no version '{version}'");
            }
            var aliases = ReadAliases();
            if (version.Length == 0)
            {
                aliases.Remove(name);
            }
            else
            {
                aliases[name] = new Dictionary<string, string> { [StableAlias] = version };
            }
            WriteAliases(aliases);
            return Get(name);
        }
    }

    /// <summary>
    /// Deletes one version of a model, unless it is the stable one or <paramref name="servedBy"/>
    /// names a serving process that holds it.
    /// </summary>
    public BundleManifest DeleteVersion(string name, string version, Func<string, string?> servedBy)
    {
        lock (_writing)
        {
            var model = Get(name);
            var manifest = model.Versions.FirstOrDefault(v => v.Version == version)
                ?? throw new MeshException(MeshErrorKind.NotFound, $"model '{name}' has no version '{version}'");
            if (model.Stable == version)
            {
                throw new MeshException(MeshErrorKind.FailedPrecondition,
                    $"version '{version}' is the stable version of model '{name}'; point stable at another version (or clear it) first");
            }
            if (servedBy(version) is { } server)
            {
                throw new MeshException(MeshErrorKind.FailedPrecondition,
                    $"version '{version}' of model '{name}' is loaded by {server}; delete it once no service serves it");
            }
            _store.Delete(version);
            _manifests.TryRemove(version, out _);
            _snapshot = null;
            return manifest;
        }
    }

    private Snapshot Current()
    {
        var stamp = Stamp.Read(_store.Root, _aliasesPath);
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Stamp == stamp && DateTime.UtcNow - snapshot.TakenAt < MaxAge)
        {
            return snapshot;
        }
        snapshot = Build(stamp);
        _snapshot = snapshot;
        return snapshot;
    }

    private Snapshot Build(Stamp stamp)
    {
        var versions = _store.ListVersions();
        var manifests = versions.Select(v => _manifests.GetOrAdd(v, _store.TryReadManifest)).OfType<BundleManifest>().ToArray();
        var aliases = ReadAliases();
        var models = manifests
            .GroupBy(m => m.ModelName, StringComparer.Ordinal)
            .Select(group =>
            {
                var ordered = group.OrderBy(m => m.Version, StringComparer.Ordinal).ToArray();
                var stable = aliases.GetValueOrDefault(group.Key)?.GetValueOrDefault(StableAlias);
                return new NamedModel(group.Key, ordered, ordered.Any(m => m.Version == stable) ? stable : null);
            })
            .ToDictionary(m => m.Name, StringComparer.Ordinal);
        var modelOf = manifests.ToDictionary(m => m.Version, m => m.ModelName, StringComparer.Ordinal);
        return new Snapshot(stamp, DateTime.UtcNow, models, modelOf);
    }

    private Dictionary<string, Dictionary<string, string>> ReadAliases()
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(File.ReadAllBytes(_aliasesPath)) ?? [];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    private void WriteAliases(Dictionary<string, Dictionary<string, string>> aliases)
    {
        AtomicDirectory.WriteFile(_aliasesPath, JsonSerializer.SerializeToUtf8Bytes(aliases, BundleManifest.JsonOptions));
        _snapshot = null;
    }

    /// <summary>Throws ArgumentException unless <paramref name="name"/> is a model name.</summary>
    public static void RequireName(string name)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"model '{name}' is not a model name: use 1 to 64 letters, digits, '_' or '-', starting with a letter or digit");
        }
    }

    private static MeshException ModelNotFound(string name) =>
        new(MeshErrorKind.NotFound, $"model '{name}' was not found (ListModels shows the models there are)");

    /// <summary>What tells that the store changed: the bundles folder's and the aliases file's write times.</summary>
    private readonly record struct Stamp(DateTime Bundles, DateTime Aliases, long AliasesLength)
    {
        public static Stamp Read(string bundles, string aliases)
        {
            var file = new FileInfo(aliases);
            return new Stamp(Directory.GetLastWriteTimeUtc(bundles), file.Exists ? file.LastWriteTimeUtc : default, file.Exists ? file.Length : -1);
        }
    }

    private sealed record Snapshot(Stamp Stamp, DateTime TakenAt, IReadOnlyDictionary<string, NamedModel> Models, IReadOnlyDictionary<string, string> ModelOf);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex NamePattern();
}
