using Grpc.Core;

namespace LlmMesh.Contracts.V1;

public static class TokenizerClientExtensions
{
    /// <summary>Encodes many texts in one EncodeStream call (one request per text, answers in order).</summary>
    public static async Task<IReadOnlyList<int[]>> EncodeAllAsync(
        this Tokenizer.TokenizerClient tokenizer, IReadOnlyList<string> texts, string vocabularyVersion, CancellationToken cancellationToken)
    {
        using var call = tokenizer.EncodeStream(cancellationToken: cancellationToken);
        var sending = Task.Run(async () =>
        {
            foreach (var text in texts)
            {
                await call.RequestStream.WriteAsync(new EncodeRequest { Text = text, VocabularyVersion = vocabularyVersion }, cancellationToken);
            }
            await call.RequestStream.CompleteAsync();
        }, cancellationToken);
        var encoded = new List<int[]>(texts.Count);
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            encoded.Add([.. call.ResponseStream.Current.Ids]);
        }
        await sending;
        return encoded.Count == texts.Count
            ? encoded
            : throw new RpcException(new Status(StatusCode.Internal, $"the tokenizer answered {encoded.Count} of {texts.Count} texts"));
    }
}
