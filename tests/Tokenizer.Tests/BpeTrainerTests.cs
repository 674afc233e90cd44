using System.Text;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public sealed class BpeTrainerTests(CocoVocabularyFixture coco) : IClassFixture<CocoVocabularyFixture>
{
    [Fact]
    public void Training_twice_on_the_same_corpus_gives_byte_identical_files()
    {
        var again = TestData.Train(File.ReadLines(TestData.CocoCorpus));

        Assert.Equal(coco.Vocabulary.VocabJson, again.VocabJson);
        Assert.Equal(coco.Vocabulary.MergesText, again.MergesText);
        Assert.Equal(coco.Vocabulary.ConfigJson, again.ConfigJson);
        Assert.Equal(coco.Vocabulary.Version, again.Version);
    }

    [Fact]
    public void Line_order_does_not_change_the_vocabulary()
    {
        var shuffled = File.ReadLines(TestData.CocoCorpus).ToArray();
        new Random(7).Shuffle(shuffled);

        Assert.Equal(coco.Vocabulary.VocabJson, TestData.Train(shuffled).VocabJson);
        Assert.Equal(coco.Vocabulary.MergesText, TestData.Train(shuffled).MergesText);
    }

    [Fact]
    public void A_different_corpus_gives_a_different_version()
    {
        var lines = File.ReadLines(TestData.CocoCorpus).Take(2000);
        Assert.NotEqual(coco.Vocabulary.Version, TestData.Train(lines).Version);
    }

    [Fact]
    public void Vocabulary_has_the_requested_size_with_special_and_byte_tokens_first()
    {
        var tokens = coco.Vocabulary.Tokens;

        Assert.Equal(2048, tokens.Count);
        Assert.Equal(["<pad>", "<bos>", "<eos>", "<unk>"], tokens.Take(4));
        for (var b = 0; b < 256; b++)
        {
            Assert.True(ByteLevelAlphabet.TryGetBytes(tokens[SpecialTokens.FirstByteId + b], out var bytes));
            Assert.Equal([(byte)b], bytes);
        }
        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Frequent_words_become_single_tokens()
    {
        foreach (var word in new[] { " man", " riding", " street", " table" })
        {
            Assert.Single(coco.Tokenizer.Encode(word));
        }
    }

    [Fact]
    public void Min_frequency_stops_merging_before_the_size_is_reached()
    {
        var vocabulary = TestData.Train(["abc", "abc", "abd"], vocabularySize: 5000, minFrequency: 2);

        // a+b (3 times), then ab+c (twice); ab+d is seen once and never merges.
        Assert.Equal(["ab", "abc"], vocabulary.Tokens.Skip(SpecialTokens.FirstByteId + 256));
    }

    [Fact]
    public void Merges_file_lists_one_pair_per_line_after_the_header()
    {
        var lines = Encoding.UTF8.GetString(coco.Vocabulary.MergesText).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("#version: 0.2", lines[0]);
        Assert.Equal(coco.Vocabulary.Merges.Count, lines.Length - 1);
        Assert.All(lines.Skip(1), line => Assert.Equal(2, line.Split(' ').Length));
    }

    [Theory]
    [InlineData(100, 2)]
    [InlineData(2048, 0)]
    public void Invalid_options_are_refused_with_the_field_name(int size, int minFrequency)
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new BpeTrainer(new BpeTrainingOptions { VocabularySize = size, MinFrequency = minFrequency }));
        Assert.Matches("vocabulary_size|min_frequency", error.Message);
    }
}
