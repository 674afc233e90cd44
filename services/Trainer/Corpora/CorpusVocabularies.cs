using System.Text.Json;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;
using LlmMesh.Trainer.Runs;

namespace LlmMesh.Trainer.Corpora;

/// <summary>
/// The vocabulary a run trains with when its request names none: one the tokenizer service learns
/// from the run's own corpus (Train, never activated), its size following the corpus size. Kept by
/// corpus sha256 and size, so each corpus is learned once; a version the tokenizer no longer has is
/// learned again.
/// </summary>
public sealed class CorpusVocabularies(Tokenizer.TokenizerClient tokenizer, string cacheFile)
{
    public const int MinSize = 1024;
    public const int MaxSize = 32768;
    private const int LinesPerMessage = 1000;
    private static readonly JsonSerializerOptions CacheJson = new() { WriteIndented = true };
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// About 16·√bytes tokens (a multiple of 64, within 1,024 and 32,768): 12k for COCO's 0.55 MB,
    /// so small corpora get few, well-trained tokens and large ones get room for whole words.
    /// </summary>
    public static int SizeFor(long corpusBytes) =>
        Math.Clamp((int)Math.Round(16 * Math.Sqrt(corpusBytes) / 64) * 64, MinSize, MaxSize);

    public async Task<string> ForCorpusAsync(CorpusText corpus, CancellationToken cancellationToken)
    {
        var size = SizeFor(corpus.Bytes);
        var key = $"{corpus.Sha256}:{size}";
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var known = Read();
            if (known.TryGetValue(key, out var version) && await TokenizerHasAsync(version, cancellationToken))
            {
                return version;
            }
            version = await TrainAsync(corpus, size, cancellationToken);
            known[key] = version;
            Directory.CreateDirectory(Path.GetDirectoryName(cacheFile)!);
            AtomicDirectory.WriteFile(cacheFile, JsonSerializer.SerializeToUtf8Bytes(known, CacheJson));
            return version;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<string> TrainAsync(CorpusText corpus, int size, CancellationToken cancellationToken)
    {
        using var call = tokenizer.Train(cancellationToken: cancellationToken);
        foreach (var lines in corpus.Lines.Chunk(LinesPerMessage))
        {
            // Every word a token once seen (min frequency 1) until the size is reached: as the shipped vocabulary.
            await call.RequestStream.WriteAsync(new TrainRequest { Lines = { lines }, VocabularySize = size, MinFrequency = 1 }, cancellationToken);
        }
        await call.RequestStream.CompleteAsync();
        return (await call).Version;
    }

    private async Task<bool> TokenizerHasAsync(string version, CancellationToken cancellationToken)
    {
        try
        {
            await tokenizer.GetInfoAsync(new GetInfoRequest { VocabularyVersion = version }, cancellationToken: cancellationToken);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    private Dictionary<string, string> Read()
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllBytes(cacheFile)) ?? [];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }
}
