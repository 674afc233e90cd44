namespace LlmMesh.Evaluation.Tests;

public sealed class NonWordsTests
{
    private static readonly NonWords Words = NonWords.FromText(
        ["a man riding a horse on a beach.", "a bathroom with a toilet and a sink."],
        ["Mirror", "wall", "old", "fashioned", "café"]);

    [Theory]
    [InlineData("a bathroom with a toilet a sink and a large mirror toress by the wall.", new[] { "large", "toress", "by", "the" })]
    [InlineData("a man riding a horse on a beach.", new string[0])]
    [InlineData("An old-fashioned MIRROR at the café", new[] { "An", "at", "the" })]
    [InlineData("2 men , 3.5 horses ; 人工智能 ! 's", new[] { "men", "horses" })]
    [InlineData("a hims-orn sink", new[] { "hims-orn" })]
    public void Latin_words_unknown_to_the_training_text_and_the_dictionary_are_non_words(string sentence, string[] expected) =>
        Assert.Equal(expected, Words.Find(sentence));

    [Fact]
    public void The_sentence_rate_counts_sentences_with_at_least_one_non_word()
    {
        Assert.Equal(0.5, Words.SentenceRate(["a man riding a horse.", "a man riding a hors of horsse."]));
        Assert.Equal(0, Words.SentenceRate([]));
    }

    [Fact]
    public void The_system_dictionary_that_the_prerequisites_install_is_read()
    {
        var dictionary = NonWords.ReadSystemDictionary();
        Assert.True(dictionary is not null, $"{NonWords.SystemDictionary} is missing: scripts/prereqs.sh installs it (Debian package wamerican)");
        var withDictionary = NonWords.FromText([], dictionary);
        Assert.False(withDictionary.IsNonWord("giraffe"));
        Assert.True(withDictionary.IsNonWord("toress"));
        Assert.Null(NonWords.ReadSystemDictionary(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))));
    }
}
