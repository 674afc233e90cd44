using System.Text;
using System.Text.RegularExpressions;
using LlmMesh.ModelStore;

namespace LlmMesh.Tokenization;

/// <summary>
/// Tokenizer vocabularies in a model store: one folder per version under <c>tokenizer/</c>, written
/// atomically (temporary folder, then rename), plus an ACTIVE file naming the version in use.
/// </summary>
public sealed partial class VocabularyStore
{
    private const string ActiveFile = "ACTIVE";
    private readonly string _root;

    public VocabularyStore(string modelStoreRoot)
    {
        _root = Path.Combine(Path.GetFullPath(modelStoreRoot), "tokenizer");
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    /// <summary>Versions are 16 lower-case hex digits; anything else cannot name a folder here.</summary>
    public static bool IsValidVersion(string version) => VersionPattern().IsMatch(version);

    public IReadOnlyList<string> ListVersions() => AtomicDirectory.ListNames(_root, IsValidVersion);

    public bool Contains(string version) =>
        IsValidVersion(version) && File.Exists(Path.Combine(_root, version, BpeVocabulary.VocabFile));

    public string? GetActiveVersion()
    {
        var path = Path.Combine(_root, ActiveFile);
        if (!File.Exists(path))
        {
            return null;
        }
        var version = File.ReadAllText(path).Trim();
        return Contains(version) ? version : null;
    }

    public void SetActiveVersion(string version)
    {
        if (!Contains(version))
        {
            throw new KeyNotFoundException($"vocabulary version '{version}' is not in the store");
        }
        AtomicDirectory.WriteFile(Path.Combine(_root, ActiveFile), Encoding.UTF8.GetBytes(version + "\n"));
    }

    /// <summary>Saves a vocabulary; returns false when that exact version was already stored.</summary>
    public bool Save(BpeVocabulary vocabulary) => AtomicDirectory.Create(_root, vocabulary.Version, vocabulary.WriteTo);

    public ByteLevelBpeTokenizer Load(string version)
    {
        if (!Contains(version))
        {
            throw new KeyNotFoundException($"vocabulary version '{version}' is not in the store");
        }
        return ByteLevelBpeTokenizer.Load(Path.Combine(_root, version), expectedVersion: version);
    }

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex VersionPattern();
}
