using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Tokenization;

namespace LlmMesh.Generator.Generation;

/// <summary>Token ids in, whole characters out (never half a UTF-8 character).</summary>
public interface IStreamingDetokenizer : IAsyncDisposable
{
    ValueTask<string> AppendAsync(int id, CancellationToken cancellationToken);

    /// <summary>Ends the sequence; an unfinished character becomes U+FFFD.</summary>
    ValueTask<string> FlushAsync(CancellationToken cancellationToken);
}

/// <summary>In process, with the bundle's vocabulary.</summary>
public sealed class LocalDetokenizer(ByteLevelBpeTokenizer vocabulary) : IStreamingDetokenizer
{
    private readonly StreamingDetokenizer _detokenizer = vocabulary.CreateStreamingDetokenizer();

    public ValueTask<string> AppendAsync(int id, CancellationToken cancellationToken) => ValueTask.FromResult(_detokenizer.Append([id]));

    public ValueTask<string> FlushAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_detokenizer.Flush());

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Through the tokenizer service: one DecodeStream per generation, one round trip per token.</summary>
public sealed class TokenizerDetokenizer(Tokenizer.TokenizerClient tokenizer, string vocabularyVersion) : IStreamingDetokenizer
{
    private AsyncDuplexStreamingCall<DecodeRequest, DecodeResponse>? _call;

    public async ValueTask<string> AppendAsync(int id, CancellationToken cancellationToken)
    {
        var call = _call ??= tokenizer.DecodeStream(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { id }, VocabularyVersion = vocabularyVersion }, cancellationToken);
        return await call.ResponseStream.MoveNext(cancellationToken)
            ? call.ResponseStream.Current.Text
            : throw new MeshException(MeshErrorKind.Unavailable, "the tokenizer ended DecodeStream early");
    }

    public async ValueTask<string> FlushAsync(CancellationToken cancellationToken)
    {
        if (_call is null)
        {
            return "";
        }
        await _call.RequestStream.CompleteAsync();
        var rest = new System.Text.StringBuilder();
        while (await _call.ResponseStream.MoveNext(cancellationToken))
        {
            rest.Append(_call.ResponseStream.Current.Text);
        }
        return rest.ToString();
    }

    public ValueTask DisposeAsync()
    {
        _call?.Dispose();
        return ValueTask.CompletedTask;
    }
}
