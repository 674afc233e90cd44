using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmMesh.ModelStore;

public class BundleException(string version, MeshErrorKind kind, string message) : MeshException(kind, message)
{
    public string Version { get; } = version;
}

public sealed class BundleNotFoundException(string version)
    : BundleException(version, MeshErrorKind.NotFound, $"model bundle '{version}' is not in the store");

public sealed class BundleCorruptException(string version, string reason)
    : BundleException(version, MeshErrorKind.FailedPrecondition, $"model bundle '{version}' is corrupt: {reason}");

public sealed class BundleIncompatibleException(string version, string reason)
    : BundleException(version, MeshErrorKind.FailedPrecondition, $"model bundle '{version}' is incompatible: {reason}");

/// <summary>A verified bundle: every file matched its checksum when it was opened.</summary>
public sealed record ModelBundle(string Directory, BundleManifest Manifest)
{
    public string Version => Manifest.Version;

    public string PathOf(string file) => Path.Combine(Directory, file);
}

/// <summary>
/// Versioned model bundles under <c>bundles/</c> of the model store. Publishing writes a complete
/// folder atomically; opening verifies format, kind and the sha256 of every file. Names that could
/// leave the store, and links, are refused.
/// </summary>
public sealed partial class ModelBundleStore
{
    private readonly string _root;

    public ModelBundleStore(string modelStoreRoot)
    {
        _root = Path.Combine(Path.GetFullPath(modelStoreRoot), "bundles");
        Directory.CreateDirectory(_root);
        AtomicDirectory.RemoveAbandoned(_root, TimeSpan.FromHours(1));
    }

    public string Root => _root;

    public static bool IsValidVersion(string version) => VersionPattern().IsMatch(version);

    /// <summary>Stored versions, oldest first (versions sort by their UTC time stamp).</summary>
    public IReadOnlyList<string> ListVersions() => AtomicDirectory.ListNames(_root, IsValidVersion);

    public string? LatestVersion() => ListVersions().LastOrDefault();

    /// <summary>
    /// Publishes a bundle: <paramref name="writeFiles"/> fills a temporary folder, then the manifest
    /// (with version, time and checksums) is added and the folder renamed into place.
    /// </summary>
    public ModelBundle Publish(BundleManifest manifest, Action<string> writeFiles, TimeProvider? clock = null)
    {
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        for (var attempt = 0; ; attempt++)
        {
            var version = $"{now:yyyyMMdd'T'HHmmss'Z'}-{Slug(manifest.RunId)}" + (attempt == 0 ? "" : $"-{attempt}");
            BundleManifest? written = null;
            var created = AtomicDirectory.Create(_root, version, directory =>
            {
                writeFiles(directory);
                var files = ListFiles(directory);
                written = manifest with { Version = version, CreatedAt = now, Files = files, Format = BundleManifest.CurrentFormat };
                File.WriteAllBytes(Path.Combine(directory, BundleManifest.FileName),
                    JsonSerializer.SerializeToUtf8Bytes(written, BundleManifest.JsonOptions));
            });
            if (created)
            {
                return new ModelBundle(Path.Combine(_root, version), written!);
            }
        }
    }

    /// <summary>Opens and verifies a bundle of the given kind.</summary>
    public ModelBundle Open(string version, string expectedKind) => Open(version, [expectedKind]);

    /// <summary>Opens and verifies a bundle of one of the accepted kinds.</summary>
    public ModelBundle Open(string version, IReadOnlyCollection<string> acceptedKinds)
    {
        var directory = ResolveInside(version);
        var info = new DirectoryInfo(directory);
        if (!info.Exists)
        {
            throw new BundleNotFoundException(version);
        }
        if (info.LinkTarget is not null)
        {
            throw new BundleCorruptException(version, "the bundle folder is a link");
        }

        var manifestPath = Path.Combine(directory, BundleManifest.FileName);
        BundleManifest manifest;
        try
        {
            RequirePlainFile(version, manifestPath);
            manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllBytes(manifestPath), BundleManifest.JsonOptions)
                ?? throw new BundleCorruptException(version, "manifest.json is empty");
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            throw new BundleCorruptException(version, $"manifest.json cannot be read ({ex.Message})");
        }
        if (manifest.Format != BundleManifest.CurrentFormat)
        {
            throw new BundleIncompatibleException(version, $"format {manifest.Format}; this build reads format {BundleManifest.CurrentFormat}");
        }
        if (!acceptedKinds.Contains(manifest.Kind))
        {
            throw new BundleIncompatibleException(version, $"it holds a '{manifest.Kind}' model, not {string.Join(" or ", acceptedKinds.Select(k => $"'{k}'"))}");
        }
        if (manifest.Version != version)
        {
            throw new BundleCorruptException(version, $"its manifest names version '{manifest.Version}'");
        }
        foreach (var (name, expected) in manifest.Files)
        {
            var path = ResolveInside(version, name);
            RequirePlainFile(version, path);
            var actual = new FileInfo(path);
            if (actual.Length != expected.Bytes || Sha256(path) != expected.Sha256)
            {
                throw new BundleCorruptException(version, $"{name} does not match its sha256 in manifest.json");
            }
        }
        return new ModelBundle(directory, manifest);
    }

    /// <summary>A version's manifest as written, unverified (for listings); null when it cannot be read.</summary>
    public BundleManifest? TryReadManifest(string version)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllBytes(Path.Combine(ResolveInside(version), BundleManifest.FileName)),
                BundleManifest.JsonOptions);
            return manifest?.Version == version ? manifest : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes a bundle all at once (renamed aside, then deleted).</summary>
    public void Delete(string version)
    {
        var directory = ResolveInside(version);
        if (!Directory.Exists(directory))
        {
            throw new BundleNotFoundException(version);
        }
        AtomicDirectory.Remove(_root, version);
    }

    private string ResolveInside(string version, string? file = null)
    {
        if (!IsValidVersion(version))
        {
            // Never a path: a version is only ever a folder name directly under the store.
            throw new ArgumentException($"'{version}' is not a model bundle version (like 20261128T141154Z-cfbaed8a6cf9)", nameof(version));
        }
        var path = Path.GetFullPath(file is null ? Path.Combine(_root, version) : Path.Combine(_root, version, file));
        var bundleRoot = Path.Combine(_root, version);
        if (file is not null && (!path.StartsWith(bundleRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || Path.GetFileName(path) != file))
        {
            throw new BundleCorruptException(version, $"manifest.json names a file outside the bundle: '{file}'");
        }
        return path;
    }

    private static void RequirePlainFile(string version, string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new BundleCorruptException(version, $"{file.Name} is missing");
        }
        if (file.LinkTarget is not null)
        {
            throw new BundleCorruptException(version, $"{file.Name} is a link");
        }
    }

    /// <summary>sha256 and size of every entry of a folder (a bundle's, a vocabulary's), by name; entries must be plain files.</summary>
    internal static Dictionary<string, BundleFile> ListFiles(string directory) =>
        new DirectoryInfo(directory).EnumerateFileSystemInfos()
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToDictionary(f => f.Name, f => f is FileInfo file && file.LinkTarget is null
                ? new BundleFile(Sha256(file.FullName), file.Length)
                : throw new InvalidOperationException($"folder entries must be plain files: {f.Name}"));

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Slug(string runId)
    {
        var slug = new string(runId.Where(char.IsAsciiLetterOrDigit).Take(12).ToArray()).ToLowerInvariant();
        return slug.Length == 0 ? "manual" : slug;
    }

    [GeneratedRegex("^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{1,12}(-[0-9]{1,4})?$")]
    private static partial Regex VersionPattern();
}
