using System.Threading.Channels;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;

namespace LlmMesh.Serving.Tests;

public sealed class ChunkCoalescerTests
{
    private static GenerateResponse Chunk(string text, params int[] ids) => new() { Chunk = new GenerateChunk { Text = text, TokenIds = { ids } } };

    private static List<GenerateResponse> Drain(params GenerateResponse[] queued)
    {
        var channel = Channel.CreateBounded<GenerateResponse>(16);
        foreach (var response in queued)
        {
            Assert.True(channel.Writer.TryWrite(response));
        }
        var sent = new List<GenerateResponse>();
        while (ChunkCoalescer.TryTakeNext(channel.Reader, out var response))
        {
            sent.Add(response);
        }
        return sent;
    }

    [Fact]
    public void Waiting_chunks_go_out_as_one_message_with_text_and_ids_in_order_and_the_final_stays_apart()
    {
        var final = new GenerateResponse { Final = new GenerateFinal { FinishReason = "length", Text = "a cat sat" } };
        var sent = Drain(Chunk("a", 10), Chunk(" cat", 11), Chunk("", 12), Chunk(" sat", 13), final);

        Assert.Equal(2, sent.Count);
        Assert.Equal("a cat sat", sent[0].Chunk.Text);
        Assert.Equal([10, 11, 12, 13], sent[0].Chunk.TokenIds);
        Assert.Same(final, sent[1]);
    }

    [Fact]
    public void A_lone_chunk_goes_out_unchanged_and_an_empty_queue_sends_nothing()
    {
        var sent = Drain(Chunk("dog", 7));
        Assert.Equal("dog", Assert.Single(sent).Chunk.Text);
        Assert.Equal([7], sent[0].Chunk.TokenIds);
        Assert.Empty(Drain());
    }

    [Fact]
    public void Chunks_after_a_final_are_not_merged_into_it()
    {
        var sent = Drain(new GenerateResponse { Final = new GenerateFinal() }, Chunk("x", 1), Chunk("y", 2));
        Assert.Equal(2, sent.Count);
        Assert.NotNull(sent[0].Final);
        Assert.Equal("xy", sent[1].Chunk.Text);
    }
}
