using System.Text.RegularExpressions;

namespace LlmMesh.Trainer.Corpora;

public sealed class CorpusNotFoundException(string message) : MeshException(MeshErrorKind.NotFound, message);

/// <summary>
/// Finds a corpus inside the data folder: a name ("coco" -> coco/train.txt) or a relative path
/// to a file. Anything that resolves outside the folder, through ".." or a link, is refused.
/// </summary>
public sealed partial class CorpusResolver(string dataDirectory)
{
    private readonly string _root = Path.GetFullPath(dataDirectory);
    private readonly string _realRoot = RealPath(Path.GetFullPath(dataDirectory));

    public string Resolve(string corpus)
    {
        if (string.IsNullOrWhiteSpace(corpus))
        {
            throw new ArgumentException("corpus is empty");
        }
        var candidate = CorpusName().IsMatch(corpus)
            ? Path.Combine(_root, corpus, "train.txt")
            : Path.GetFullPath(Path.IsPathRooted(corpus) ? corpus : Path.Combine(_root, corpus));
        if (!IsInside(candidate, _root))
        {
            throw new ArgumentException($"corpus '{corpus}' is outside the trainer's data folder");
        }
        var file = new FileInfo(candidate);
        if (!file.Exists)
        {
            throw new CorpusNotFoundException(CorpusName().IsMatch(corpus)
                ? $"corpus '{corpus}' was not found (no {corpus}/train.txt in the data folder)"
                : $"corpus file '{corpus}' was not found in the data folder");
        }
        if (!IsInside(RealPath(candidate), _realRoot))
        {
            throw new ArgumentException($"corpus '{corpus}' links outside the trainer's data folder");
        }
        return candidate;
    }

    /// <summary>The path with every link along it resolved.</summary>
    private static string RealPath(string path)
    {
        var real = Path.GetPathRoot(path)!;
        foreach (var part in path[real.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            real = Path.Combine(real, part);
            FileSystemInfo entry = Directory.Exists(real) ? new DirectoryInfo(real) : new FileInfo(real);
            if (entry.LinkTarget is not null)
            {
                real = entry.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? real;
            }
        }
        return real;
    }

    private static bool IsInside(string path, string root) => path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>A corpus name: a letter or digit, then up to 63 letters, digits, '_' or '-'.</summary>
    public static bool IsValidName(string name) => CorpusName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex CorpusName();
}
