using System.Globalization;
using LlmMesh.Contracts.V1;
using LlmMesh.Trainer.Corpora;

namespace LlmMesh.Trainer.Grpc;

internal static class CorpusMapping
{
    public static CorpusInfo ToInfo(this StoredCorpus corpus) => new()
    {
        Name = corpus.Name,
        Lines = corpus.Lines,
        Bytes = corpus.Bytes,
        Sha256 = corpus.Sha256,
        Dropped = new DroppedLines { Empty = corpus.Dropped.Empty, Duplicate = corpus.Dropped.Duplicate, TooLong = corpus.Dropped.TooLong },
        CreatedAt = corpus.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        BuiltIn = corpus.BuiltIn,
        Replaced = corpus.Replaced,
    };
}
