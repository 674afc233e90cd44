using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Serving.Hosting;

/// <summary>Asks the tokenizer service whether it has a vocabulary version.</summary>
public sealed class TokenizerVocabularyCatalog(Tokenizer.TokenizerClient tokenizer) : IVocabularyCatalog
{
    public async Task<bool> HasAsync(string version, CancellationToken cancellationToken)
    {
        try
        {
            await tokenizer.GetInfoAsync(new GetInfoRequest { VocabularyVersion = version },
                deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }
}
