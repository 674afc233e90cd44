using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace LlmMesh.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary loaded through Microsoft.ML.Tokenizers. Special-token strings in
/// input text are ordinary text (they never become control ids), so every string round-trips.
/// </summary>
public sealed class ByteLevelBpeTokenizer
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly BpeTokenizer _bpe;
    private readonly byte[][] _tokenBytes;

    private ByteLevelBpeTokenizer(string version, BpeTokenizer bpe, byte[][] tokenBytes, int mergeCount)
    {
        Version = version;
        MergeCount = mergeCount;
        _bpe = bpe;
        _tokenBytes = tokenBytes;
    }

    public string Version { get; }

    public int VocabularySize => _tokenBytes.Length;

    public int MergeCount { get; }

    public static ByteLevelBpeTokenizer Create(BpeVocabulary vocabulary) =>
        Create(vocabulary.Version, vocabulary.VocabJson, vocabulary.MergesText, vocabulary.PreTokenizerPattern);

    /// <summary>Loads vocab.json and merges.txt from a folder, verifying that they hash to <paramref name="expectedVersion"/>.</summary>
    public static ByteLevelBpeTokenizer Load(string directory, string? expectedVersion = null)
    {
        var vocabJson = File.ReadAllBytes(Path.Combine(directory, BpeVocabulary.VocabFile));
        var mergesText = File.ReadAllBytes(Path.Combine(directory, BpeVocabulary.MergesFile));
        var pattern = BpeVocabulary.ReadPreTokenizerPattern(directory);
        var version = BpeVocabulary.ComputeVersion(vocabJson, mergesText, pattern);
        if (expectedVersion is not null && version != expectedVersion)
        {
            throw new InvalidDataException(
                $"vocabulary files in '{directory}' hash to version {version}, not {expectedVersion}: the files are corrupt or were changed");
        }
        return Create(version, vocabJson, mergesText, pattern);
    }

    private static ByteLevelBpeTokenizer Create(string version, byte[] vocabJson, byte[] mergesText, string preTokenizerPattern)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson)
            ?? throw new InvalidDataException("vocab.json is empty");
        var tokenBytes = new byte[vocab.Count][];
        foreach (var (token, id) in vocab)
        {
            if (id < 0 || id >= tokenBytes.Length || tokenBytes[id] is not null)
            {
                throw new InvalidDataException($"vocab.json ids must be 0..{vocab.Count - 1} without gaps; found {id} for '{token}'");
            }
            if (SpecialTokens.IsSpecial(id))
            {
                if (token != SpecialTokens.All[id])
                {
                    throw new InvalidDataException($"vocab.json id {id} must be {SpecialTokens.All[id]}, found '{token}'");
                }
                tokenBytes[id] = [];
            }
            else if (!ByteLevelAlphabet.TryGetBytes(token, out tokenBytes[id]))
            {
                throw new InvalidDataException($"vocab.json token '{token}' (id {id}) is not byte-level");
            }
        }

        var merges = BpeVocabulary.ReadMergeLines(Utf8.GetString(mergesText)).ToArray();
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(PreTokenization.For(preTokenizerPattern), specialTokens: null),
        };
        return new ByteLevelBpeTokenizer(version, BpeTokenizer.Create(options), tokenBytes, merges.Length);
    }

    public IReadOnlyList<int> Encode(string text) =>
        text.Length == 0 ? [] : _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false);

    /// <summary>Decodes ids to text; special tokens decode to nothing; invalid UTF-8 becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            bytes.AddRange(GetTokenBytes(id));
        }
        return Utf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>The UTF-8 bytes a token stands for (empty for special tokens).</summary>
    public ReadOnlySpan<byte> GetTokenBytes(int id) => _tokenBytes[id];

    /// <summary>The index of the first id outside the vocabulary, or -1 when all are valid.</summary>
    public int IndexOfInvalidId(ReadOnlySpan<int> ids)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_tokenBytes.Length)
            {
                return i;
            }
        }
        return -1;
    }

    public StreamingDetokenizer CreateStreamingDetokenizer() => new(this);
}
