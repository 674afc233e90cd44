using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace LlmMesh.ModelStore.Mirroring;

/// <summary>What one pull changed: folders and files added or replaced, removed, and refused (with the reason).</summary>
public sealed record PullResult(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Refused)
{
    public static readonly PullResult Nothing = new([], [], []);
}

/// <summary>
/// The model store on S3-compatible object storage. Keys mirror the store's folder layout under
/// <see cref="S3StoreOptions.Prefix"/> (bundles/{version}/{file}, aliases.json, tokenizer/...,
/// serving/...). A folder is complete once its marker exists — a bundle's manifest.json, a
/// vocabulary's listing.json — which is uploaded last and lists every other file's sha256. A
/// reader downloads a complete folder into a temporary folder, verifies every file's size and
/// sha256 against the marker, and only then renames it into its store: a corrupt or partial object
/// is refused (and not downloaded again until the objects change).
/// </summary>
public sealed partial class S3StoreMirror : IModelStoreMirror, IDisposable
{
    /// <summary>The marker of a vocabulary folder in the bucket (vocabularies carry no manifest of their own).</summary>
    public const string ListingFile = "listing.json";
    public const string ActiveVocabularyFile = "tokenizer/ACTIVE";

    private static readonly FolderArea BundleArea = new("bundles", BundleManifest.FileName, MarkerIsStored: true, RemoveMissing: true);
    private static readonly FolderArea VocabularyArea = new("tokenizer", ListingFile, MarkerIsStored: false, RemoveMissing: false);
    private const string ServingFolder = ServingRegistry.Folder;

    private readonly string _root;
    private readonly S3StoreOptions _options;
    private readonly StoreAreas _pulled;
    private readonly IAmazonS3 _s3;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _pulling = new(1, 1);
    // ETags of the small files this process last wrote or read, so unchanged ones are not fetched again.
    private readonly Dictionary<string, string> _knownFiles = new(StringComparer.Ordinal);
    // Folders refused, by the state of their objects: retried only once those change.
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);
    // Folders this process downloaded: only those leave when the bucket no longer has them (a
    // writer's own bundle, not uploaded yet, must never be taken for a deleted one).
    private readonly HashSet<string> _downloaded = new(StringComparer.Ordinal);

    public S3StoreMirror(string modelStoreRoot, S3StoreOptions options, StoreAreas pulled, ILogger logger)
    {
        _root = Path.GetFullPath(modelStoreRoot);
        _options = options;
        _pulled = pulled;
        _logger = logger;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // Plain requests: S3-compatible servers differ in which optional checksums they accept;
            // every file is verified against its manifest's sha256 after download instead.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl.Length > 0)
        {
            config.ServiceURL = options.ServiceUrl;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }
        _s3 = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public string Bucket => _options.Bucket;

    public async Task PushBundleAsync(ModelBundle bundle, CancellationToken cancellationToken)
    {
        var folder = $"{BundleArea.Folder}/{bundle.Version}";
        foreach (var file in bundle.Manifest.Files.Keys.Order(StringComparer.Ordinal))
        {
            await PutFileAsync($"{folder}/{file}", bundle.PathOf(file), cancellationToken);
        }
        await PutFileAsync($"{folder}/{BundleArea.Marker}", bundle.PathOf(BundleManifest.FileName), cancellationToken);
        _logger.LogInformation("Uploaded bundle {Version} ({Files} files) to s3://{Bucket}/{Prefix}", bundle.Version, bundle.Manifest.Files.Count + 1, Bucket, _options.Prefix);
    }

    public async Task DeleteBundleAsync(string version, CancellationToken cancellationToken)
    {
        if (!ModelBundleStore.IsValidVersion(version))
        {
            throw new ArgumentException($"'{version}' is not a model bundle version", nameof(version));
        }
        var folder = $"{BundleArea.Folder}/{version}/";
        await _s3.DeleteObjectAsync(Bucket, KeyOf(folder + BundleArea.Marker), cancellationToken);
        foreach (var key in (await ListAsync(folder, cancellationToken)).Keys)
        {
            await _s3.DeleteObjectAsync(Bucket, KeyOf(key), cancellationToken);
        }
    }

    public async Task PushVocabularyAsync(string version, CancellationToken cancellationToken)
    {
        var folder = $"{VocabularyArea.Folder}/{version}";
        var directory = LocalPath(folder);
        var files = ModelBundleStore.ListFiles(directory);
        foreach (var file in files.Keys)
        {
            await PutFileAsync($"{folder}/{file}", Path.Combine(directory, file), cancellationToken);
        }
        var listing = JsonSerializer.SerializeToUtf8Bytes(new FolderListing(version, files), BundleManifest.JsonOptions);
        await _s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = KeyOf($"{folder}/{ListingFile}"), InputStream = new MemoryStream(listing) }, cancellationToken);
    }

    public async Task PushFileAsync(string relativePath, CancellationToken cancellationToken)
    {
        var local = LocalPath(relativePath);
        if (File.Exists(local))
        {
            await PutFileAsync(relativePath, local, cancellationToken);
            return;
        }
        await _s3.DeleteObjectAsync(Bucket, KeyOf(relativePath), cancellationToken);
        lock (_knownFiles)
        {
            _knownFiles.Remove(relativePath);
        }
    }

    public async Task<PullResult> PullAsync(CancellationToken cancellationToken)
    {
        if (_pulled == StoreAreas.None)
        {
            return PullResult.Nothing;
        }
        await _pulling.WaitAsync(cancellationToken);
        try
        {
            var objects = await ListAsync("", cancellationToken);
            var changes = new Changes();
            if (_pulled.HasFlag(StoreAreas.Bundles))
            {
                await PullFoldersAsync(BundleArea, objects, changes, cancellationToken);
                await PullFileAsync(ModelCatalog.AliasesFile, objects, changes, cancellationToken);
            }
            if (_pulled.HasFlag(StoreAreas.Vocabularies))
            {
                await PullFoldersAsync(VocabularyArea, objects, changes, cancellationToken);
                await PullFileAsync(ActiveVocabularyFile, objects, changes, cancellationToken);
            }
            if (_pulled.HasFlag(StoreAreas.ServingReports))
            {
                await PullServingReportsAsync(objects, changes, cancellationToken);
            }
            return new PullResult(changes.Added, changes.Removed, changes.Refused);
        }
        finally
        {
            _pulling.Release();
        }
    }

    public void Dispose()
    {
        _s3.Dispose();
        _pulling.Dispose();
    }

    private async Task PullFoldersAsync(FolderArea area, IReadOnlyDictionary<string, S3Object> objects, Changes changes, CancellationToken cancellationToken)
    {
        var complete = objects.Keys
            .Select(key => key.Split('/'))
            .Where(parts => parts.Length == 3 && parts[0] == area.Folder && parts[2] == area.Marker && SafeName().IsMatch(parts[1]))
            .Select(parts => parts[1])
            .ToHashSet(StringComparer.Ordinal);
        var localRoot = Directory.CreateDirectory(LocalPath(area.Folder)).FullName;
        foreach (var name in complete.Order(StringComparer.Ordinal))
        {
            if (Directory.Exists(Path.Combine(localRoot, name)))
            {
                continue;
            }
            var folder = $"{area.Folder}/{name}";
            var inFolder = objects.Where(o => o.Key.StartsWith(folder + "/", StringComparison.Ordinal)).ToDictionary();
            var state = string.Join(';', inFolder.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}:{o.Value.ETag}:{o.Value.Size}"));
            if (_refused.GetValueOrDefault(folder) == state)
            {
                continue;
            }
            try
            {
                await DownloadFolderAsync(area, name, localRoot, inFolder, cancellationToken);
                _refused.Remove(folder);
                _downloaded.Add(folder);
                changes.Added.Add(folder);
                _logger.LogInformation("Downloaded {Folder} from s3://{Bucket}/{Prefix} and verified every file", folder, Bucket, _options.Prefix);
            }
            catch (InvalidDataException ex)
            {
                _refused[folder] = state;
                changes.Refused.Add($"{folder}: {ex.Message}");
                _logger.LogWarning("Refused {Folder} from s3://{Bucket}/{Prefix}: {Reason}", folder, Bucket, _options.Prefix, ex.Message);
            }
        }
        if (area.RemoveMissing)
        {
            foreach (var name in AtomicDirectory.ListNames(localRoot, SafeName().IsMatch).Where(n => !complete.Contains(n) && _downloaded.Contains($"{area.Folder}/{n}")))
            {
                AtomicDirectory.Remove(localRoot, name);
                _downloaded.Remove($"{area.Folder}/{name}");
                changes.Removed.Add($"{area.Folder}/{name}");
            }
        }
    }

    private async Task DownloadFolderAsync(FolderArea area, string name, string localRoot, Dictionary<string, S3Object> objects, CancellationToken cancellationToken)
    {
        var folder = $"{area.Folder}/{name}";
        var markerBytes = await GetBytesAsync($"{folder}/{area.Marker}", cancellationToken);
        FolderListing listing;
        try
        {
            listing = JsonSerializer.Deserialize<FolderListing>(markerBytes, BundleManifest.JsonOptions) ?? throw new InvalidDataException($"{area.Marker} is empty");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{area.Marker} cannot be read ({ex.Message})", ex);
        }
        if (listing.Version != name)
        {
            throw new InvalidDataException($"{area.Marker} names version '{listing.Version}'");
        }
        foreach (var (file, expected) in listing.Files)
        {
            if (!SafeName().IsMatch(file) || file == area.Marker)
            {
                throw new InvalidDataException($"{area.Marker} lists '{file}', which is not a file name of the folder");
            }
            if (!objects.TryGetValue($"{folder}/{file}", out var stored))
            {
                throw new InvalidDataException($"{file} is missing");
            }
            if (stored.Size != expected.Bytes)
            {
                throw new InvalidDataException($"{file} holds {stored.Size} bytes, its {area.Marker} says {expected.Bytes}");
            }
        }
        await AtomicDirectory.CreateAsync(localRoot, name, async temporary =>
        {
            foreach (var (file, expected) in listing.Files)
            {
                await DownloadVerifiedAsync($"{folder}/{file}", Path.Combine(temporary, file), expected, area.Marker, cancellationToken);
            }
            if (area.MarkerIsStored)
            {
                await File.WriteAllBytesAsync(Path.Combine(temporary, area.Marker), markerBytes, cancellationToken);
            }
        });
    }

    private async Task DownloadVerifiedAsync(string relativeKey, string path, BundleFile expected, string marker, CancellationToken cancellationToken)
    {
        using var response = await _s3.GetObjectAsync(Bucket, KeyOf(relativeKey), cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            var buffer = new byte[1 << 16];
            long total = 0;
            int read;
            while ((read = await response.ResponseStream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > expected.Bytes)
                {
                    throw new InvalidDataException($"{Path.GetFileName(path)} is longer than its {marker} says ({expected.Bytes} bytes)");
                }
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        if (Convert.ToHexStringLower(hash.GetHashAndReset()) != expected.Sha256)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} does not match its sha256 in {marker}");
        }
    }

    /// <summary>Replaces a small file when its object changed; a file whose object is gone stays (only serving reports expire).</summary>
    private async Task PullFileAsync(string relativePath, IReadOnlyDictionary<string, S3Object> objects, Changes changes, CancellationToken cancellationToken)
    {
        if (!objects.TryGetValue(relativePath, out var stored))
        {
            return;
        }
        lock (_knownFiles)
        {
            if (_knownFiles.GetValueOrDefault(relativePath) == stored.ETag)
            {
                return;
            }
        }
        var local = LocalPath(relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        AtomicDirectory.WriteFile(local, await GetBytesAsync(relativePath, cancellationToken));
        lock (_knownFiles)
        {
            _knownFiles[relativePath] = stored.ETag;
        }
        changes.Added.Add(relativePath);
    }

    private async Task PullServingReportsAsync(IReadOnlyDictionary<string, S3Object> objects, Changes changes, CancellationToken cancellationToken)
    {
        var reports = objects.Keys.Where(k => k.StartsWith(ServingFolder + "/", StringComparison.Ordinal) && k.EndsWith(".json", StringComparison.Ordinal)
            && SafeName().IsMatch(k[(ServingFolder.Length + 1)..])).ToHashSet(StringComparer.Ordinal);
        foreach (var report in reports)
        {
            await PullFileAsync(report, objects, changes, cancellationToken);
        }
        var localFolder = Directory.CreateDirectory(LocalPath(ServingFolder));
        foreach (var file in localFolder.EnumerateFiles("*.json").Where(f => !reports.Contains($"{ServingFolder}/{f.Name}")))
        {
            file.Delete();
            lock (_knownFiles)
            {
                _knownFiles.Remove($"{ServingFolder}/{file.Name}");
            }
            changes.Removed.Add($"{ServingFolder}/{file.Name}");
        }
    }

    private async Task PutFileAsync(string relativeKey, string path, CancellationToken cancellationToken)
    {
        var response = await _s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = KeyOf(relativeKey), FilePath = path }, cancellationToken);
        lock (_knownFiles)
        {
            _knownFiles[relativeKey] = response.ETag;
        }
    }

    private async Task<byte[]> GetBytesAsync(string relativeKey, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _s3.GetObjectAsync(Bucket, KeyOf(relativeKey), cancellationToken);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidDataException($"{relativeKey} disappeared while it was read", ex);
        }
    }

    /// <summary>Every object under the prefix (and <paramref name="under"/>), by its path relative to the prefix.</summary>
    private async Task<IReadOnlyDictionary<string, S3Object>> ListAsync(string under, CancellationToken cancellationToken)
    {
        var objects = new Dictionary<string, S3Object>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = KeyOf(under) };
        ListObjectsV2Response response;
        do
        {
            response = await _s3.ListObjectsV2Async(request, cancellationToken);
            foreach (var stored in response.S3Objects ?? [])
            {
                objects[stored.Key[_options.Prefix.Length..]] = stored;
            }
            request.ContinuationToken = response.NextContinuationToken;
        }
        while (response.IsTruncated == true);
        return objects;
    }

    private string KeyOf(string relativePath) => _options.Prefix + relativePath;

    private string LocalPath(string relativePath) => Path.Combine(_root, relativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>A folder or file name that stays inside its folder.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex SafeName();

    private sealed record FolderArea(string Folder, string Marker, bool MarkerIsStored, bool RemoveMissing);

    /// <summary>A folder's marker as this mirror reads it: a bundle manifest's or a vocabulary listing's version and files.</summary>
    private sealed record FolderListing(string Version, Dictionary<string, BundleFile> Files);

    private sealed class Changes
    {
        public List<string> Added { get; } = [];
        public List<string> Removed { get; } = [];
        public List<string> Refused { get; } = [];
    }
}
