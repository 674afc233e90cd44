using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using LlmMesh.ModelStore;

namespace LlmMesh.Trainer.Corpora;

public sealed record DroppedLineCounts(long Empty, long Duplicate, long TooLong)
{
    public static DroppedLineCounts None { get; } = new(0, 0, 0);
}

/// <summary>A stored corpus: its text has <see cref="Lines"/> lines, <see cref="Bytes"/> bytes and the given sha256.</summary>
public sealed record StoredCorpus(string Name, long Lines, long Bytes, string Sha256, DroppedLineCounts Dropped, DateTimeOffset CreatedAt, bool BuiltIn)
{
    /// <summary>The upload overwrote a corpus of the same name.</summary>
    public bool Replaced { get; init; }
}

/// <summary>What an upload may hold (from <see cref="TrainerOptions"/>).</summary>
public sealed record CorpusLimits(long MaxBytes, int MaxLineChars, int MinLines);

/// <summary>
/// The corpora a run can train on: the ones shipped with the mesh (read-only, in the data folder)
/// and uploaded ones (a folder each, with train.txt and corpus.json, in the upload folder). An
/// upload is written under a temporary name and renamed into place, so a failed or cancelled upload
/// leaves nothing behind and readers never see half a corpus.
/// </summary>
public sealed class CorpusLibrary
{
    public const string TextFile = "train.txt";
    public const string InfoFile = "corpus.json";

    private readonly CorpusResolver _builtIn;
    private readonly string _builtInRoot;
    private readonly string _uploads;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, (long Length, DateTime Modified, StoredCorpus Corpus)> _builtInSummaries = new();

    public CorpusLibrary(string builtInDirectory, string uploadDirectory, CorpusLimits limits)
    {
        _builtInRoot = Path.GetFullPath(builtInDirectory);
        _builtIn = new CorpusResolver(_builtInRoot);
        _uploads = Path.GetFullPath(uploadDirectory);
        Limits = limits;
        Directory.CreateDirectory(_uploads);
        AtomicDirectory.RemoveAbandoned(_uploads, TimeSpan.FromHours(1));
    }

    public CorpusLimits Limits { get; }

    /// <summary>The text file of a corpus name (uploaded or built in) or of a path inside the data folder.</summary>
    public string Resolve(string corpus) =>
        CorpusResolver.IsValidName(corpus) && File.Exists(UploadedText(corpus)) ? UploadedText(corpus) : _builtIn.Resolve(corpus);

    /// <summary>Every corpus, by name.</summary>
    public IReadOnlyList<StoredCorpus> List()
    {
        var uploaded = AtomicDirectory.ListNames(_uploads, CorpusResolver.IsValidName).Select(TryReadUploaded).OfType<StoredCorpus>();
        var builtIn = Directory.Exists(_builtInRoot)
            ? AtomicDirectory.ListNames(_builtInRoot, name => CorpusResolver.IsValidName(name) && File.Exists(BuiltInText(name))).Select(SummarizeBuiltIn)
            : [];
        return uploaded.Concat(builtIn).DistinctBy(c => c.Name).OrderBy(c => c.Name, StringComparer.Ordinal).ToArray();
    }

    public StoredCorpus Get(string name)
    {
        RequireValidName(name);
        return TryReadUploaded(name)
            ?? (File.Exists(BuiltInText(name)) ? SummarizeBuiltIn(name) : throw new CorpusNotFoundException($"corpus '{name}' was not found"));
    }

    /// <summary>
    /// Starts an upload; refuses at once what would be refused at the end: a bad name, a built-in
    /// name, an existing name without <paramref name="replace"/>.
    /// </summary>
    public CorpusUpload BeginUpload(string name, bool replace, bool skipLongLines)
    {
        RequireWritable(name, replace);
        var temporary = Path.Combine(_uploads, AtomicDirectory.TemporaryPrefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temporary);
        return new CorpusUpload(name, replace, skipLongLines, temporary, Limits);
    }

    /// <summary>Finishes an upload and moves it into place (replacing a corpus only when the upload asked to).</summary>
    public StoredCorpus Commit(CorpusUpload upload)
    {
        var corpus = upload.Finish(TimeProvider.System);
        lock (_gate)
        {
            RequireWritable(upload.Name, upload.Replace);
            var target = UploadedFolder(upload.Name);
            var replaced = Directory.Exists(target);
            if (replaced)
            {
                // Linux cannot rename over a non-empty folder: move the old one aside first.
                var aside = Path.Combine(_uploads, AtomicDirectory.TemporaryPrefix + Guid.NewGuid().ToString("N"));
                Directory.Move(target, aside);
                Directory.Move(upload.Folder, target);
                Directory.Delete(aside, recursive: true);
            }
            else
            {
                Directory.Move(upload.Folder, target);
            }
            return corpus with { Replaced = replaced };
        }
    }

    /// <summary>Deletes an uploaded corpus; built-in corpora cannot be deleted.</summary>
    public StoredCorpus Delete(string name)
    {
        lock (_gate)
        {
            var corpus = Get(name);
            if (corpus.BuiltIn)
            {
                throw new MeshException(MeshErrorKind.FailedPrecondition, $"corpus '{name}' ships with the mesh and cannot be deleted");
            }
            var aside = Path.Combine(_uploads, AtomicDirectory.TemporaryPrefix + Guid.NewGuid().ToString("N"));
            Directory.Move(UploadedFolder(name), aside);
            Directory.Delete(aside, recursive: true);
            return corpus;
        }
    }

    private void RequireWritable(string name, bool replace)
    {
        RequireValidName(name);
        if (File.Exists(BuiltInText(name)))
        {
            throw replace
                ? new MeshException(MeshErrorKind.FailedPrecondition, $"corpus '{name}' ships with the mesh and cannot be replaced; upload under another name")
                : new MeshException(MeshErrorKind.AlreadyExists, $"corpus '{name}' already exists (it ships with the mesh); upload under another name");
        }
        if (!replace && Directory.Exists(UploadedFolder(name)))
        {
            throw new MeshException(MeshErrorKind.AlreadyExists, $"corpus '{name}' already exists; set replace to overwrite it");
        }
    }

    private static void RequireValidName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("name is empty: the first message of an upload names the corpus");
        }
        if (!CorpusResolver.IsValidName(name))
        {
            throw new ArgumentException($"name '{name}' is not a corpus name: use 1 to 64 letters, digits, '_' or '-', starting with a letter or digit");
        }
    }

    private StoredCorpus? TryReadUploaded(string name)
    {
        try
        {
            return JsonSerializer.Deserialize<StoredCorpus>(File.ReadAllBytes(Path.Combine(UploadedFolder(name), InfoFile)), CorpusUpload.JsonOptions);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Lines, size and sha256 of a shipped corpus, computed once per file change.</summary>
    private StoredCorpus SummarizeBuiltIn(string name)
    {
        var file = new FileInfo(BuiltInText(name));
        if (_builtInSummaries.TryGetValue(name, out var cached) && cached.Length == file.Length && cached.Modified == file.LastWriteTimeUtc)
        {
            return cached.Corpus;
        }
        var bytes = File.ReadAllBytes(file.FullName);
        var lines = bytes.AsSpan().Count((byte)'\n') + (bytes.Length > 0 && bytes[^1] != '\n' ? 1 : 0);
        var corpus = new StoredCorpus(name, lines, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)), DroppedLineCounts.None,
            new DateTimeOffset(file.LastWriteTimeUtc), BuiltIn: true);
        _builtInSummaries[name] = (file.Length, file.LastWriteTimeUtc, corpus);
        return corpus;
    }

    private string UploadedFolder(string name) => Path.Combine(_uploads, name);

    private string UploadedText(string name) => Path.Combine(_uploads, name, TextFile);

    private string BuiltInText(string name) => Path.Combine(_builtInRoot, name, TextFile);
}
