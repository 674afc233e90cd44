using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LlmMesh.Tokenization;

public sealed record BpeTrainingSummary(int RequestedVocabularySize, int MinFrequency, string CorpusSha256, long Lines);

/// <summary>
/// A trained vocabulary in the files Microsoft.ML.Tokenizers loads (vocab.json, merges.txt) plus
/// tokenizer.json with the settings. The version is a hash of the content, so equal vocabularies
/// have equal versions.
/// </summary>
public sealed class BpeVocabulary
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string ConfigFile = "tokenizer.json";
    private const string MergesHeader = "#version: 0.2";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
    };

    public BpeVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges, BpeTrainingSummary training,
        string preTokenizerPattern = PreTokenization.Pattern)
    {
        Tokens = tokens;
        Merges = merges;
        Training = training;
        PreTokenizerPattern = preTokenizerPattern;
        VocabJson = SerializeVocab(tokens);
        MergesText = SerializeMerges(merges);
        Version = ComputeVersion(VocabJson, MergesText, preTokenizerPattern);
    }

    public IReadOnlyList<string> Tokens { get; }
    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public BpeTrainingSummary Training { get; }
    public byte[] VocabJson { get; }
    public byte[] MergesText { get; }
    public string Version { get; }
    public string PreTokenizerPattern { get; }

    public byte[] ConfigJson => JsonSerializer.SerializeToUtf8Bytes(new VocabularyConfig(
        Version, Tokens.Count, Merges.Count, PreTokenizerPattern,
        new Dictionary<string, int>
        {
            [SpecialTokens.Pad] = SpecialTokens.PadId,
            [SpecialTokens.Bos] = SpecialTokens.BosId,
            [SpecialTokens.Eos] = SpecialTokens.EosId,
            [SpecialTokens.Unk] = SpecialTokens.UnkId,
        },
        Training), JsonOptions);

    public void WriteTo(string directory)
    {
        File.WriteAllBytes(Path.Combine(directory, VocabFile), VocabJson);
        File.WriteAllBytes(Path.Combine(directory, MergesFile), MergesText);
        File.WriteAllBytes(Path.Combine(directory, ConfigFile), ConfigJson);
    }

    /// <summary>The version of vocabulary files: the first 16 hex digits of their SHA-256 (with the split pattern).</summary>
    public static string ComputeVersion(ReadOnlySpan<byte> vocabJson, ReadOnlySpan<byte> mergesText, string preTokenizerPattern)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(vocabJson);
        hash.AppendData([0]);
        hash.AppendData(mergesText);
        hash.AppendData([0]);
        hash.AppendData(Encoding.UTF8.GetBytes(preTokenizerPattern));
        return Convert.ToHexStringLower(hash.GetCurrentHash())[..16];
    }

    public static IEnumerable<string> ReadMergeLines(string mergesText) =>
        mergesText.Split('\n').Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal));

    private static byte[] SerializeVocab(IReadOnlyList<string> tokens)
    {
        // Ordered by id; written by hand so the bytes never depend on dictionary ordering.
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JsonOptions.Encoder, Indented = false }))
        {
            writer.WriteStartObject();
            for (var id = 0; id < tokens.Count; id++)
            {
                writer.WriteNumber(tokens[id], id);
            }
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static byte[] SerializeMerges(IReadOnlyList<(string Left, string Right)> merges)
    {
        var text = new StringBuilder(MergesHeader).Append('\n');
        foreach (var (left, right) in merges)
        {
            text.Append(left).Append(' ').Append(right).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>The split a vocabulary folder's tokenizer.json records (GPT-2's when it records none).</summary>
    public static string ReadPreTokenizerPattern(string directory)
    {
        var config = Path.Combine(directory, ConfigFile);
        if (!File.Exists(config))
        {
            return PreTokenization.Gpt2Pattern;
        }
        using var document = JsonDocument.Parse(File.ReadAllBytes(config));
        return document.RootElement.TryGetProperty(nameof(VocabularyConfig.PreTokenizerPattern), out var pattern) && pattern.GetString() is { } value
            ? value
            : PreTokenization.Gpt2Pattern;
    }

    private sealed record VocabularyConfig(
        string Version, int VocabularySize, int Merges, string PreTokenizerPattern,
        IReadOnlyDictionary<string, int> SpecialTokens, BpeTrainingSummary Training);
}
