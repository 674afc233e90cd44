using LlmMesh.Serving.Sampling;

namespace LlmMesh.Serving.Tests;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void A_stop_string_split_across_chunks_is_held_back_and_never_emitted()
    {
        var matcher = new StopSequenceMatcher(["lo wo"]);

        Assert.Equal("He", matcher.Push("Hel")); // "l" could start "lo wo"
        Assert.Equal("l", matcher.Push("lo")); // now "lo" could
        Assert.Equal("", matcher.Push(" w"));
        Assert.Equal("", matcher.Push("orld"));
        Assert.Equal("lo wo", matcher.Matched);
        Assert.Equal("", matcher.Flush());
        Assert.Equal("", matcher.Push("more"));
    }

    [Fact]
    public void Held_text_is_released_as_soon_as_it_can_no_longer_become_a_stop_string()
    {
        var matcher = new StopSequenceMatcher(["END"]);

        Assert.Equal("a cat ", matcher.Push("a cat E"));
        Assert.Equal("EN", matcher.Push("NX").Substring(0, 2));
        Assert.Null(matcher.Matched);
    }

    [Fact]
    public void Text_held_at_the_end_is_released_by_flush()
    {
        var matcher = new StopSequenceMatcher([".\n"]);

        Assert.Equal("a dog", matcher.Push("a dog."));
        Assert.Equal(".", matcher.Flush());
    }

    [Fact]
    public void The_earliest_stop_string_wins_and_text_before_it_is_emitted()
    {
        var matcher = new StopSequenceMatcher(["sink", "a b", "x"]);

        Assert.Equal("on ", matcher.Push("on a bathroom sink x"));
        Assert.Equal("a b", matcher.Matched);
    }

    [Fact]
    public void Without_stop_strings_everything_passes_through()
    {
        var matcher = new StopSequenceMatcher([]);
        Assert.Equal("abc", matcher.Push("abc"));
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void Holding_back_never_splits_a_surrogate_pair()
    {
        // The stop string starts with the low half of nothing real: only "\uDE00x" could match a
        // suffix, which would cut the emoji in two; the whole emoji is held instead.
        var matcher = new StopSequenceMatcher(["\uDE00x"]);
        var emitted = matcher.Push("ok 😀");

        Assert.Equal("ok ", emitted);
        Assert.Equal("😀", matcher.Flush());
    }
}
