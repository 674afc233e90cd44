using LlmMesh.ModelStore;

namespace LlmMesh.Model.Tests;

public sealed class LatentIndexTests : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("llmmesh-index-").FullName;

    [Fact]
    public void Nearest_matches_a_brute_force_sort_for_every_k()
    {
        var random = new Random(3);
        var lines = Enumerable.Range(0, 500).Select(i => $"sentence {i}").ToArray();
        var codes = lines.Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var index = LatentIndex.Build(lines, codes);
        var query = Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray();

        var expected = codes.Select((code, line) => (Line: line, Distance: MathF.Sqrt(code.Zip(query, (a, b) => (a - b) * (a - b)).Sum())))
            .OrderBy(n => n.Distance).ToArray();
        foreach (var k in new[] { 1, 7, 50 })
        {
            var found = index.Nearest(query, k);
            Assert.Equal(expected.Take(k).Select(n => n.Line), found.Select(n => n.Line));
            Assert.All(found, n => Assert.Equal($"sentence {n.Line}", n.Text));
            Assert.Equal(expected.Take(k).Select(n => n.Distance), found.Select(n => n.Distance), (a, b) => Math.Abs(a - b) < 1e-5f);
        }
    }

    [Fact]
    public void Repeated_lines_are_indexed_once_under_their_first_line_and_ties_keep_line_order()
    {
        var index = LatentIndex.Build(["a dog", "a cat", "a dog", "a bird"], [[0f, 0f], [1f, 0f], [0f, 0f], [-1f, 0f]]);

        Assert.Equal(3, index.Count);
        var found = index.Nearest([0f, 0f], 3);
        Assert.Equal(["a dog", "a cat", "a bird"], found.Select(n => n.Text));
        Assert.Equal([0, 1, 3], found.Select(n => n.Line));
        Assert.Equal([0f, 1f, 1f], found.Select(n => n.Distance));
        Assert.Equal(3, index.Nearest([0f, 0f], 50).Count);
    }

    [Fact]
    public void Bad_queries_are_refused_by_name()
    {
        var index = LatentIndex.Build(["a", "b"], [[0f, 1f], [1f, 0f]]);

        Assert.Contains("3 values", Assert.Throws<ArgumentException>(() => index.Nearest([0f, 0f, 0f], 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Nearest([0f, 0f], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Nearest([0f, 0f], LatentIndex.MaxNeighbors + 1));
        Assert.Throws<ArgumentException>(() => LatentIndex.Build(["a"], [[0f], [1f]]));
        Assert.Throws<ArgumentException>(() => LatentIndex.Build(["a", "b"], [[0f], [1f, 2f]]));
    }

    [Fact]
    public void A_bundle_keeps_its_index_and_refuses_a_missing_truncated_or_mismatched_one()
    {
        var lines = new[] { "a red bus", "two dogs", "a red bus", "a kite" };
        var index = LatentIndex.Build(lines, [[1f, 2f, 3f], [0f, 0f, 1f], [1f, 2f, 3f], [5f, 5f, 5f]]);
        var bundle = Publish(directory =>
        {
            new CorpusSplit(lines, ["held out"]).WriteTo(directory);
            index.WriteTo(directory);
        });

        var read = LatentIndex.Read(bundle, latentSize: 3);
        Assert.Equal(3, read.Count);
        Assert.Equal(index.Nearest([5f, 5f, 4f], 3), read.Nearest([5f, 5f, 4f], 3));

        Assert.Contains("codes of size 3", Assert.Throws<BundleCorruptException>(() => LatentIndex.Read(bundle, latentSize: 4)).Message);
        File.WriteAllBytes(bundle.PathOf(LatentIndex.File), File.ReadAllBytes(bundle.PathOf(LatentIndex.File))[..20]);
        Assert.Throws<BundleCorruptException>(() => LatentIndex.Read(bundle, latentSize: 3));

        var withoutIndex = Publish(directory => new CorpusSplit(lines, ["held out"]).WriteTo(directory));
        var refused = Assert.Throws<BundleIncompatibleException>(() => LatentIndex.Read(withoutIndex, latentSize: 3));
        Assert.Contains(LatentIndex.File, refused.Message);
    }

    private ModelBundle Publish(Action<string> write) =>
        new ModelBundleStore(_store).Publish(new BundleManifest { Kind = VaeBundle.Kind, RunId = "index", CorpusSha256 = "c", TokenizerVersion = "v" }, write);

    public void Dispose() => Directory.Delete(_store, recursive: true);
}
