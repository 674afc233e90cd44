using System.Threading.Channels;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// Takes the next response to send, merged with every chunk already waiting behind it: when the
/// transport falls behind decoding, one message carries several tokens (text and ids in order)
/// instead of one write per token. Nothing waits for more; the final message is never merged.
/// </summary>
public static class ChunkCoalescer
{
    public static bool TryTakeNext(ChannelReader<GenerateResponse> reader, out GenerateResponse response)
    {
        if (!reader.TryRead(out response!))
        {
            return false;
        }
        if (response.Chunk is not { } chunk)
        {
            return true;
        }
        string? text = null;
        while (reader.TryPeek(out var next) && next.Chunk is { } following && reader.TryRead(out _))
        {
            text = (text ?? chunk.Text) + following.Text;
            chunk.TokenIds.Add(following.TokenIds);
        }
        if (text is not null)
        {
            chunk.Text = text;
        }
        return true;
    }
}
