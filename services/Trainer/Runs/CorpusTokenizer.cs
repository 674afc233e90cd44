using System.Security.Cryptography;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Trainer.Runs;

public sealed record TokenizedCorpus(string VocabularyVersion, int VocabularySize, string Sha256, IReadOnlyList<int[]> Sentences);

/// <summary>Tokenizes a corpus through the tokenizer service (EncodeStream), pinned to one vocabulary version.</summary>
public sealed class CorpusTokenizer(Tokenizer.TokenizerClient tokenizer)
{
    public async Task<TokenizedCorpus> TokenizeAsync(string corpusPath, string vocabularyVersion, long maxBytes, CancellationToken cancellationToken)
    {
        var size = new FileInfo(corpusPath).Length;
        if (size > maxBytes)
        {
            throw new ArgumentException($"corpus is {size} bytes; the limit is {maxBytes} bytes (Trainer:MaxCorpusBytes)");
        }
        var bytes = await File.ReadAllBytesAsync(corpusPath, cancellationToken);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var lines = System.Text.Encoding.UTF8.GetString(bytes)
            .Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Trim().Length > 0)
            .ToArray();
        if (lines.Length < 2)
        {
            throw new ArgumentException("corpus has fewer than 2 non-empty lines");
        }

        var info = await tokenizer.GetInfoAsync(new GetInfoRequest { VocabularyVersion = vocabularyVersion }, cancellationToken: cancellationToken);
        var sentences = await tokenizer.EncodeAllAsync(lines, info.VocabularyVersion, cancellationToken);
        return new TokenizedCorpus(info.VocabularyVersion, info.VocabularySize, sha256, sentences);
    }
}
