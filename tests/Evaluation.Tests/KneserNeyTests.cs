using LlmMesh.TestSupport;

namespace LlmMesh.Evaluation.Tests;

public sealed class KneserNeyTests
{
    private static readonly string[][] Captions = RepositoryPaths.CocoLines(3000).Select(WordTokenizer.Tokenize).ToArray();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Every_context_gives_a_distribution_that_sums_to_one(int order)
    {
        var model = KneserNeyLanguageModel.Train(Captions[..2500], order);
        var vocabulary = Enumerable.Range(1, model.VocabularySize).ToArray(); // every id but <s>
        int[][] histories = [[0], [0, 3], [0, 3, 4, 5, 6], [5, 5, 5, 5], [1_000_000 % model.VocabularySize + 2]];
        foreach (var history in histories)
        {
            var tail = history[Math.Max(0, history.Length - (order - 1))..];
            var sum = vocabulary.Sum(word => model.Probability(word, tail));
            Assert.Equal(1.0, sum, 1e-9);
        }
    }

    [Fact]
    public void Held_out_captions_are_likelier_than_their_shuffled_words_and_unknown_words_stay_finite()
    {
        var model = KneserNeyLanguageModel.Train(Captions[..2500]);
        var heldOut = Captions[2500..];
        var random = new Random(1);
        var shuffled = heldOut.Select(words => { var copy = words.ToArray(); random.Shuffle(copy); return copy; }).ToArray();

        var fluent = model.Perplexity(heldOut);
        Assert.InRange(fluent, 5, 200);
        Assert.True(model.Perplexity(shuffled) > 3 * fluent);
        Assert.True(double.IsFinite(model.Perplexity([["qwertyuiop", "zxcvbnm"]])));
        Assert.True(model.Perplexity(heldOut) > model.Perplexity(Captions[..500]), "training text must score better than held-out text");
    }

    [Fact]
    public void Higher_orders_fit_held_out_text_at_least_as_well_as_a_bigram()
    {
        var heldOut = Captions[2500..];
        var bigram = KneserNeyLanguageModel.Train(Captions[..2500], 2).Perplexity(heldOut);
        var fiveGram = KneserNeyLanguageModel.Train(Captions[..2500], 5).Perplexity(heldOut);
        Assert.True(fiveGram < bigram, $"5-gram {fiveGram} vs bigram {bigram}");
    }

    [Fact]
    public void Samples_follow_the_model()
    {
        var model = KneserNeyLanguageModel.Train(Captions, 3);
        var random = new Random(5);
        var samples = Enumerable.Range(0, 20_000).Select(_ => model.Sample(random, 40)).ToArray();

        // The first word's frequency matches P(word | <s>).
        var firstWords = samples.Where(s => s.Length > 0).GroupBy(s => s[0]).ToDictionary(g => g.Key, g => g.Count() / (double)samples.Length);
        var a = model.Probability(Vocabulary(model, "a"), [0]);
        Assert.Equal(a, firstWords["a"], 0.015);
        Assert.All(samples, s => Assert.DoesNotContain("<unk>", s));
        Assert.InRange(samples.Average(s => s.Length), 7, 16);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentException>(() => KneserNeyLanguageModel.Train([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KneserNeyLanguageModel.Train(Captions, 6));
        Assert.Throws<ArgumentException>(() => KneserNeyLanguageModel.Train(Captions, 2).Perplexity([]));
    }

    private static int Vocabulary(KneserNeyLanguageModel model, string word) => model.WordId(word);
}
