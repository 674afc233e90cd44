using LlmMesh.TestSupport;

namespace LlmMesh.Evaluation.Tests;

public sealed class HeldOutSplitTests
{
    private static readonly string[] Coco = File.ReadAllLines(RepositoryPaths.CocoCorpus).Where(l => l.Trim().Length > 0).ToArray();

    [Fact]
    public void On_coco_the_held_out_captions_share_no_more_4_grams_with_training_than_unseen_images_do()
    {
        foreach (var seed in Enumerable.Range(1, 10))
        {
            var split = HeldOutSplit.Create(Coco, 0.1, seed);
            var overlap = HeldOutSplit.NgramOverlap(split.HeldOut.Select(i => Coco[i]), split.Train.Select(i => Coco[i]));
            // Captions of unseen COCO images share 15.2 % with these captions; seeds 1-10 give 12.1-14.4 %
            // (with rare meaning "in at most 5 captions" they gave up to 16.5 %).
            Assert.InRange(overlap, 0.10, 0.152);
            Assert.InRange(split.HeldOut.Length, 1000, 1100);

            var order = Enumerable.Range(0, Coco.Length).ToArray();
            new Random(seed).Shuffle(order);
            var random = HeldOutSplit.NgramOverlap(order.Take(1000).Select(i => Coco[i]), order.Skip(1000).Select(i => Coco[i]));
            Assert.True(random > overlap + 0.1, $"a random split shares {random:P1}, the grouped one {overlap:P1}");
        }
    }

    [Fact]
    public void Every_line_is_on_exactly_one_side_and_no_rare_4_gram_crosses_from_held_out_to_training()
    {
        var split = HeldOutSplit.Create(Coco, 0.1, 1);
        var sides = split.Train.Concat(split.HeldOut).Concat(split.SetAside).ToArray();
        Assert.Equal(Coco.Length, sides.Length);
        Assert.Equal(Coco.Length, sides.Distinct().Count());

        var documentFrequency = Coco.SelectMany(l => Grams(l).Distinct()).GroupBy(g => g).ToDictionary(g => g.Key, g => g.Count());
        var rareHeldOut = split.HeldOut.SelectMany(i => Grams(Coco[i]))
            .Where(g => documentFrequency[g] <= HeldOutSplit.MaxRareDocumentFrequency).ToHashSet();
        Assert.NotEmpty(rareHeldOut);
        var crossing = split.Train.SelectMany(i => Grams(Coco[i])).Where(rareHeldOut.Contains).ToArray();
        Assert.Empty(crossing);
    }

    [Fact]
    public void The_same_lines_and_seed_give_the_same_split_and_another_seed_another()
    {
        var a = HeldOutSplit.Create(Coco, 0.1, 7);
        var b = HeldOutSplit.Create(Coco, 0.1, 7);
        var c = HeldOutSplit.Create(Coco, 0.1, 8);
        Assert.Equal(a.HeldOut, b.HeldOut);
        Assert.Equal(a.Train, b.Train);
        Assert.NotEqual(a.HeldOut, c.HeldOut);
    }

    [Fact]
    public void Lines_equal_word_for_word_stay_together()
    {
        string[] lines = [.. Enumerable.Range(0, 40).Select(i => $"line number {i} of a tiny corpus"), "A dog.", "a dog .", "a dog."];
        foreach (var seed in Enumerable.Range(0, 20))
        {
            var split = HeldOutSplit.Create(lines, 0.1, seed);
            var duplicates = new[] { 40, 41, 42 };
            var sides = duplicates.Select(i => split.HeldOut.Contains(i) ? "held" : split.Train.Contains(i) ? "train" : "aside").Distinct();
            Assert.Single(sides);
        }
    }

    [Fact]
    public void A_tiny_or_wholly_duplicated_corpus_still_splits_into_two_non_empty_sides()
    {
        var same = Enumerable.Repeat("a cat on a mat", 10).ToArray();
        var split = HeldOutSplit.Create(same, 0.1, 1);
        Assert.Single(split.HeldOut);
        Assert.Empty(split.SetAside);
        Assert.Equal(9, split.Train.Length);

        var two = HeldOutSplit.Create(["a cat", "a dog"], 0.5, 1);
        Assert.Single(two.HeldOut);
        Assert.Single(two.Train);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.51)]
    [InlineData(double.NaN)]
    public void A_fraction_outside_the_range_is_refused(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => HeldOutSplit.Create(["a", "b", "c"], fraction, 1));

    [Fact]
    public void Overlap_counts_4_gram_occurrences_of_the_held_out_text()
    {
        // "a b c d e": 2 grams, "a b c d" seen; "x y z w": 1 gram, not seen.
        Assert.Equal(1 / 3.0, HeldOutSplit.NgramOverlap(["a b c d e", "x y z w"], ["a b c d q"]), 9);
        Assert.Equal(0, HeldOutSplit.NgramOverlap(["too short"], ["too short"]));
    }

    private static IEnumerable<string> Grams(string line)
    {
        var words = WordTokenizer.Tokenize(line.ToLowerInvariant());
        return Enumerable.Range(0, Math.Max(0, words.Length - 3)).Select(i => string.Join(' ', words[i..(i + 4)]));
    }
}
