using System.Collections.Concurrent;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Vocabularies;

public sealed class VocabularyNotFoundException(string version, IReadOnlyList<string> available)
    : MeshException(MeshErrorKind.NotFound,
        $"vocabulary version '{version}' was not found; available: {(available.Count == 0 ? "none" : string.Join(", ", available))}");

public sealed class VocabularyNotReadyException(string reason) : MeshException(MeshErrorKind.Unavailable, $"the tokenizer is not ready: {reason}");

public sealed class VocabularyUnreadableException(string version, InvalidDataException problem)
    : MeshException(MeshErrorKind.FailedPrecondition, $"vocabulary {version} cannot be loaded: {problem.Message}", problem);

/// <summary>
/// The vocabularies this service can serve: the active one, loaded and warmed before the
/// service reports ready, and any other stored version, loaded on first use and then cached.
/// </summary>
public sealed class VocabularyRegistry(VocabularyStore store)
{
    private readonly ConcurrentDictionary<string, Lazy<ByteLevelBpeTokenizer>> _loaded = new();
    private volatile string? _activeVersion;
    private volatile string _status = "the vocabulary is loading";

    public VocabularyStore Store => store;

    public string? ActiveVersion => _activeVersion;

    /// <summary>Why the service is not ready yet (or failed to become ready).</summary>
    public string Status => _status;

    public void ReportStatus(string status) => _status = status;

    /// <summary>The tokenizer for a version; null or empty means the active one.</summary>
    public ByteLevelBpeTokenizer Resolve(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            version = _activeVersion ?? throw new VocabularyNotReadyException(_status);
        }
        else if (!store.Contains(version))
        {
            throw new VocabularyNotFoundException(version, store.ListVersions());
        }
        try
        {
            return Get(version);
        }
        catch (InvalidDataException ex)
        {
            throw new VocabularyUnreadableException(version, ex);
        }
    }

    /// <summary>Loads, warms and activates a stored version; the ACTIVE marker is updated when <paramref name="persist"/>.</summary>
    public ByteLevelBpeTokenizer Activate(string version, bool persist)
    {
        var tokenizer = Get(version);
        tokenizer.Decode(tokenizer.Encode("warm up the tokenizer: a man riding a bicycle.").ToArray());
        if (persist)
        {
            store.SetActiveVersion(version);
        }
        _activeVersion = version;
        _status = $"serving vocabulary {version}";
        return tokenizer;
    }

    private ByteLevelBpeTokenizer Get(string version)
    {
        var lazy = _loaded.GetOrAdd(version, v => new Lazy<ByteLevelBpeTokenizer>(() => store.Load(v)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _loaded.TryRemove(new KeyValuePair<string, Lazy<ByteLevelBpeTokenizer>>(version, lazy));
            throw;
        }
    }
}
