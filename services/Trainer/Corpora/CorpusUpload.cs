using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LlmMesh.Trainer.Corpora;

/// <summary>
/// One upload in progress: lines are cleaned (trimmed; empty and repeated lines dropped), checked
/// against the limits and written to a temporary folder as they arrive. Nothing is visible until
/// <see cref="CorpusLibrary.Commit"/>; disposing an unfinished upload deletes what it wrote.
/// </summary>
public sealed class CorpusUpload : IDisposable
{
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly CorpusLimits _limits;
    private readonly bool _skipLongLines;
    private readonly FileStream _text;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    // 128-bit hashes of the kept lines: duplicates are found without holding the text in memory.
    private readonly HashSet<UInt128> _seen = [];
    private long _received;
    private long _empty;
    private long _duplicate;
    private long _tooLong;
    private long _bytes;

    internal CorpusUpload(string name, bool replace, bool skipLongLines, string folder, CorpusLimits limits)
    {
        Name = name;
        Replace = replace;
        Folder = folder;
        _skipLongLines = skipLongLines;
        _limits = limits;
        _text = new FileStream(Path.Combine(folder, CorpusLibrary.TextFile), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    public string Name { get; }
    public bool Replace { get; }
    internal string Folder { get; }

    /// <summary>Lines kept so far.</summary>
    public long Lines => _seen.Count;

    /// <summary>Adds one entry of a request; an entry holding line breaks is several lines.</summary>
    public void Add(string entry)
    {
        foreach (var line in entry.Split('\n'))
        {
            AddLine(line);
        }
    }

    private void AddLine(string raw)
    {
        _received++;
        var line = raw.Trim();
        if (line.Length == 0)
        {
            _empty++;
            return;
        }
        if (line.Length > _limits.MaxLineChars)
        {
            if (_skipLongLines)
            {
                _tooLong++;
                return;
            }
            throw new ArgumentException(
                $"line {_received} has {line.Length} characters; the limit is {_limits.MaxLineChars} (Trainer:MaxCorpusLineChars). " +
                "A corpus holds one sentence per line; set skip_long_lines to drop longer lines instead");
        }
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        if (!_seen.Add(XxHash128.HashToUInt128(bytes)))
        {
            _duplicate++;
            return;
        }
        if (_bytes + bytes.Length > _limits.MaxBytes)
        {
            throw new MeshException(MeshErrorKind.CapacityExceeded,
                $"the corpus exceeds {_limits.MaxBytes} bytes at line {_received} (Trainer:MaxCorpusBytes)");
        }
        _bytes += bytes.Length;
        _text.Write(bytes);
        _sha256.AppendData(bytes);
    }

    /// <summary>Completes the files in the temporary folder; refuses a corpus with too few usable lines.</summary>
    internal StoredCorpus Finish(TimeProvider clock)
    {
        if (Lines < _limits.MinLines)
        {
            throw new ArgumentException(
                $"the corpus has {Lines} usable lines (of {_received} received: {_empty} empty, {_duplicate} repeated, {_tooLong} too long); " +
                $"at least {_limits.MinLines} are needed (Trainer:MinCorpusLines)");
        }
        _text.Flush(flushToDisk: true);
        _text.Dispose();
        var corpus = new StoredCorpus(Name, Lines, _bytes, Convert.ToHexStringLower(_sha256.GetHashAndReset()),
            new DroppedLineCounts(_empty, _duplicate, _tooLong), clock.GetUtcNow(), BuiltIn: false);
        File.WriteAllBytes(Path.Combine(Folder, CorpusLibrary.InfoFile), JsonSerializer.SerializeToUtf8Bytes(corpus, JsonOptions));
        return corpus;
    }

    public void Dispose()
    {
        _text.Dispose();
        _sha256.Dispose();
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
