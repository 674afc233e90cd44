using System.Text;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public sealed class StreamingDetokenizerTests(CocoVocabularyFixture coco) : IClassFixture<CocoVocabularyFixture>
{
    [Fact]
    public void Token_by_token_output_never_splits_a_character_and_adds_up_to_the_text()
    {
        var random = new Random(11);
        for (var i = 0; i < 2_000; i++)
        {
            var text = TestData.RandomUnicode(random).Replace("\uFFFD", "");
            var ids = coco.Tokenizer.Encode(text).ToArray();
            var detokenizer = coco.Tokenizer.CreateStreamingDetokenizer();
            var output = new StringBuilder();
            foreach (var chunk in RandomChunks(ids, random))
            {
                var delta = detokenizer.Append(chunk);
                AssertWholeCharacters(delta);
                Assert.DoesNotContain('\uFFFD', delta);
                output.Append(delta);
            }
            Assert.Equal("", detokenizer.Flush());
            Assert.Equal(text, output.ToString());
        }
    }

    [Fact]
    public void A_four_byte_emoji_spread_over_byte_tokens_is_emitted_once_complete()
    {
        var bytes = Encoding.UTF8.GetBytes("😀");
        var ids = bytes.Select(b => SpecialTokens.FirstByteId + b).ToArray();
        var detokenizer = coco.Tokenizer.CreateStreamingDetokenizer();

        Assert.Equal("", detokenizer.Append(ids.AsSpan(0, 1)));
        Assert.Equal("", detokenizer.Append(ids.AsSpan(1, 2)));
        Assert.Equal("😀", detokenizer.Append(ids.AsSpan(3, 1)));
    }

    [Fact]
    public void Any_id_sequence_streams_to_exactly_what_one_shot_decode_gives()
    {
        // Random ids make invalid and truncated UTF-8: the stream must still agree with Decode.
        var random = new Random(3);
        for (var i = 0; i < 5_000; i++)
        {
            var ids = Enumerable.Range(0, random.Next(1, 30))
                .Select(_ => random.Next(3) == 0 ? random.Next(coco.Tokenizer.VocabularySize) : SpecialTokens.FirstByteId + random.Next(256))
                .ToArray();
            var detokenizer = coco.Tokenizer.CreateStreamingDetokenizer();
            var output = new StringBuilder();
            foreach (var chunk in RandomChunks(ids, random))
            {
                var delta = detokenizer.Append(chunk);
                AssertWholeCharacters(delta);
                output.Append(delta);
            }
            output.Append(detokenizer.Flush());
            Assert.Equal(coco.Tokenizer.Decode(ids), output.ToString());
        }
    }

    [Fact]
    public void A_truncated_character_is_flushed_as_one_replacement_character()
    {
        var detokenizer = coco.Tokenizer.CreateStreamingDetokenizer();
        var firstTwoBytesOfEmoji = Encoding.UTF8.GetBytes("😀").Take(2).Select(b => SpecialTokens.FirstByteId + b).ToArray();

        Assert.Equal("", detokenizer.Append(firstTwoBytesOfEmoji));
        Assert.Equal("\uFFFD", detokenizer.Flush());
        Assert.Equal("\uFFFD", coco.Tokenizer.Decode(firstTwoBytesOfEmoji));
    }

    private static IEnumerable<int[]> RandomChunks(int[] ids, Random random)
    {
        for (var start = 0; start < ids.Length;)
        {
            var length = Math.Min(ids.Length - start, random.Next(1, 4));
            yield return ids[start..(start + length)];
            start += length;
        }
    }

    private static void AssertWholeCharacters(string delta)
    {
        for (var i = 0; i < delta.Length; i++)
        {
            if (char.IsHighSurrogate(delta[i]))
            {
                Assert.True(i + 1 < delta.Length && char.IsLowSurrogate(delta[i + 1]), "delta ends inside a surrogate pair");
                i++;
            }
            else
            {
                Assert.False(char.IsLowSurrogate(delta[i]), "lone low surrogate");
            }
        }
    }
}
