using System.Security.Cryptography;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Trainer.Runs;

/// <summary>A corpus file as a run reads it: its non-empty lines, size and sha256.</summary>
public sealed record CorpusText(IReadOnlyList<string> Lines, long Bytes, string Sha256)
{
    public static async Task<CorpusText> ReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        var size = new FileInfo(path).Length;
        if (size > maxBytes)
        {
            throw new ArgumentException($"corpus is {size} bytes; the limit is {maxBytes} bytes (Trainer:MaxCorpusBytes)");
        }
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        var lines = System.Text.Encoding.UTF8.GetString(bytes)
            .Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Trim().Length > 0)
            .ToArray();
        if (lines.Length < 2)
        {
            throw new ArgumentException("corpus has fewer than 2 non-empty lines");
        }
        return new CorpusText(lines, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }
}

/// <param name="Lines">The corpus lines, aligned with <paramref name="Sentences"/>.</param>
public sealed record TokenizedCorpus(string VocabularyVersion, int VocabularySize, string Sha256, IReadOnlyList<string> Lines, IReadOnlyList<int[]> Sentences);

/// <summary>Tokenizes a corpus through the tokenizer service (EncodeStream), pinned to one vocabulary version.</summary>
public sealed class CorpusTokenizer(Tokenizer.TokenizerClient tokenizer)
{
    /// <param name="vocabularyVersion">Empty = the tokenizer's active vocabulary.</param>
    public async Task<TokenizedCorpus> TokenizeAsync(CorpusText corpus, string vocabularyVersion, CancellationToken cancellationToken)
    {
        var info = await tokenizer.GetInfoAsync(new GetInfoRequest { VocabularyVersion = vocabularyVersion }, cancellationToken: cancellationToken);
        var sentences = await tokenizer.EncodeAllAsync(corpus.Lines, info.VocabularyVersion, cancellationToken);
        return new TokenizedCorpus(info.VocabularyVersion, info.VocabularySize, corpus.Sha256, corpus.Lines, sentences);
    }

    /// <summary>
    /// Every line with its words shuffled (seeded), tokenized with the corpus's vocabulary: negatives
    /// for the fluency discriminator. Lines whose shuffle changes nothing give an empty sentence.
    /// </summary>
    public async Task<IReadOnlyList<int[]>> TokenizeShuffledAsync(TokenizedCorpus corpus, long seed, CancellationToken cancellationToken)
    {
        var random = new Random(Model.Seeds.DeriveInt(seed, Model.SeedStream.CorpusShuffle, index: 0));
        var shuffled = corpus.Lines.Select(line => Shuffle(line, random)).ToArray();
        var encoded = await tokenizer.EncodeAllAsync(shuffled, corpus.VocabularyVersion, cancellationToken);
        return encoded;
    }

    /// <summary>
    /// The line's words in random order; a line without spaces (Chinese, Japanese) has its characters
    /// as words. Empty when the order does not change.
    /// </summary>
    public static string Shuffle(string line, Random random)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string result;
        if (words.Length > 1)
        {
            random.Shuffle(words);
            result = string.Join(' ', words);
        }
        else
        {
            var characters = new List<string>();
            for (var elements = System.Globalization.StringInfo.GetTextElementEnumerator(line.Trim()); elements.MoveNext();)
            {
                characters.Add(elements.GetTextElement());
            }
            var shuffled = characters.ToArray();
            random.Shuffle(shuffled);
            result = string.Concat(shuffled);
        }
        return result == line.Trim() ? "" : result;
    }

    /// <summary>Token ids back to text with the corpus's vocabulary (for word-level evaluation).</summary>
    public async Task<IReadOnlyList<string>> DecodeAsync(IReadOnlyList<int[]> sentences, string vocabularyVersion, CancellationToken cancellationToken)
    {
        var texts = new string[sentences.Count];
        for (var i = 0; i < sentences.Count; i++)
        {
            var response = await tokenizer.DecodeAsync(new DecodeRequest { Ids = { sentences[i] }, VocabularyVersion = vocabularyVersion },
                cancellationToken: cancellationToken);
            texts[i] = response.Text;
        }
        return texts;
    }
}
