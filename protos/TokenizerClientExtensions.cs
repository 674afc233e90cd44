using Grpc.Core;

namespace LlmMesh.Contracts.V1;

public static class TokenizerClientExtensions
{
    /// <summary>Encodes many texts in one EncodeStream call (one request per text, answers in order).</summary>
    public static async Task<IReadOnlyList<int[]>> EncodeAllAsync(
        this Tokenizer.TokenizerClient tokenizer, IReadOnlyList<string> texts, string vocabularyVersion, CancellationToken cancellationToken)
    {
        using var call = tokenizer.EncodeStream(cancellationToken: cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sending = SendAllAsync(call.RequestStream, texts, vocabularyVersion, stop.Token);
        var receiving = ReceiveAllAsync(call.ResponseStream, texts.Count, stop.Token);
        await TaskPair.WhenBothAsync(receiving, sending, stop);
        var encoded = await receiving;
        return encoded.Count == texts.Count
            ? encoded
            : throw new RpcException(new Status(StatusCode.Internal, $"the tokenizer answered {encoded.Count} of {texts.Count} texts"));
    }

    private static async Task SendAllAsync(
        IClientStreamWriter<EncodeRequest> requests, IReadOnlyList<string> texts, string vocabularyVersion, CancellationToken cancellationToken)
    {
        foreach (var text in texts)
        {
            await requests.WriteAsync(new EncodeRequest { Text = text, VocabularyVersion = vocabularyVersion }, cancellationToken);
        }
        await requests.CompleteAsync();
    }

    private static async Task<List<int[]>> ReceiveAllAsync(IAsyncStreamReader<EncodeResponse> responses, int expected, CancellationToken cancellationToken)
    {
        var encoded = new List<int[]>(expected);
        while (await responses.MoveNext(cancellationToken))
        {
            encoded.Add([.. responses.Current.Ids]);
        }
        return encoded;
    }
}
