using System.Text.Json.Nodes;
using LlmMesh.ModelStore;
using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class ModelBundleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-bundles-").FullName;
    private readonly ModelBundleStore _store;

    public ModelBundleTests() => _store = new ModelBundleStore(_root);

    [Fact]
    public void A_published_bundle_reloads_the_same_model_with_its_manifest()
    {
        using var model = TrainedModel();
        var published = Publish(model);

        var opened = _store.Open(published.Version, VaeBundle.Kind);
        using var loaded = BundleModules.LoadVae(opened);

        Assert.Equal(TinyData.Weights(model), TinyData.Weights(loaded));
        Assert.Equal(TinyData.Config, loaded.Config);
        Assert.Equal("run123", opened.Manifest.RunId);
        Assert.Equal("vocab0123456789a", opened.Manifest.TokenizerVersion);
        Assert.Equal(3.25, opened.Manifest.Metrics["validation_nll_per_token"]);
        Assert.Equal(0.3, opened.Manifest.GetHyperparameters<VaeTrainingOptions>("training").WordDropout);
        Assert.Equal("coco", opened.Manifest.Hyperparameters["corpus"]!.GetValue<string>());
        Assert.Contains(VaeBundle.WeightsFile, opened.Manifest.Files.Keys);
        Assert.Matches("^[0-9a-f]{64}$", opened.Manifest.Files[VaeBundle.WeightsFile].Sha256);
        // The decoder is also published as ONNX graphs, checksummed like the weights.
        Assert.Contains(OnnxGraphs.DecoderStepFile, opened.Manifest.Files.Keys);
        Assert.Contains(OnnxGraphs.DecoderInitFile, opened.Manifest.Files.Keys);
        Assert.Equal([published.Version], _store.ListVersions());
        Assert.Equal(published.Version, _store.LatestVersion());
    }

    [Fact]
    public void Versions_sort_by_publication_time()
    {
        using var model = TrainedModel();
        var first = Publish(model, new FixedClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        var second = Publish(model, new FixedClock(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));
        var sameSecond = Publish(model, new FixedClock(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));

        Assert.Equal([first.Version, second.Version, sameSecond.Version], _store.ListVersions());
        Assert.Equal(sameSecond.Version, _store.LatestVersion());
    }

    [Fact]
    public void A_failed_write_leaves_no_bundle_and_no_temporary_folder()
    {
        var manifest = new BundleManifest { Kind = VaeBundle.Kind, RunId = "broken", CorpusSha256 = "c", TokenizerVersion = "v" };

        Assert.Throws<IOException>(() => _store.Publish(manifest, directory =>
        {
            File.WriteAllText(Path.Combine(directory, "half.bin"), "partial");
            throw new IOException("disk full");
        }));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.Root));
    }

    [Fact]
    public void A_changed_weight_file_is_refused_as_corrupt()
    {
        using var model = TrainedModel();
        var bundle = Publish(model);
        using (var stream = File.OpenWrite(bundle.PathOf(VaeBundle.WeightsFile)))
        {
            stream.Seek(-3, SeekOrigin.End);
            stream.WriteByte(0x42);
        }

        var error = Assert.Throws<BundleCorruptException>(() => _store.Open(bundle.Version, VaeBundle.Kind));
        Assert.Contains("sha256", error.Message);
    }

    [Fact]
    public void A_missing_file_or_an_unreadable_manifest_is_refused_as_corrupt()
    {
        using var model = TrainedModel();
        var missing = Publish(model);
        File.Delete(missing.PathOf(VaeBundle.WeightsFile));
        Assert.Contains("missing", Assert.Throws<BundleCorruptException>(() => _store.Open(missing.Version, VaeBundle.Kind)).Message);

        var garbled = Publish(model);
        File.WriteAllText(garbled.PathOf(BundleManifest.FileName), "{ not json");
        Assert.Contains("manifest.json", Assert.Throws<BundleCorruptException>(() => _store.Open(garbled.Version, VaeBundle.Kind)).Message);
    }

    [Fact]
    public void Another_kind_or_format_is_refused_as_incompatible()
    {
        using var model = TrainedModel();
        var bundle = Publish(model);

        Assert.Contains("latent-gan", Assert.Throws<BundleIncompatibleException>(() => _store.Open(bundle.Version, "latent-gan")).Message);

        var manifest = bundle.PathOf(BundleManifest.FileName);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"format\": 1", "\"format\": 99"));
        Assert.Contains("format 99", Assert.Throws<BundleIncompatibleException>(() => _store.Open(bundle.Version, VaeBundle.Kind)).Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_stored_architecture_are_refused()
    {
        using var model = TrainedModel();
        var manifest = new BundleManifest
        {
            Kind = VaeBundle.Kind,
            RunId = "mismatch",
            CorpusSha256 = "c",
            TokenizerVersion = "v",
            Hyperparameters = new JsonObject { ["model"] = System.Text.Json.JsonSerializer.SerializeToNode(TinyData.Config with { HiddenSize = 8 }, BundleManifest.JsonOptions) },
        };
        var bundle = _store.Publish(manifest, directory => model.save(Path.Combine(directory, VaeBundle.WeightsFile)));

        Assert.Throws<BundleIncompatibleException>(() => BundleModules.LoadVae(_store.Open(bundle.Version, VaeBundle.Kind)));
    }

    [Theory]
    [InlineData("../bundles")]
    [InlineData("..")]
    [InlineData("/etc/passwd")]
    [InlineData("20260101T000000Z-abc/../../x")]
    [InlineData("")]
    public void Names_that_could_leave_the_store_are_refused_as_invalid_versions(string version)
    {
        var error = Assert.Throws<ArgumentException>(() => _store.Open(version, VaeBundle.Kind));
        Assert.Contains("is not a model bundle version", error.Message);
    }

    [Fact]
    public void A_well_formed_version_that_is_not_stored_is_not_found()
    {
        Assert.Throws<BundleNotFoundException>(() => _store.Open("20990101T000000Z-000000000000", VaeBundle.Kind));
    }

    [Fact]
    public void Links_are_refused_for_bundle_folders_and_files()
    {
        using var model = TrainedModel();
        var real = Publish(model);
        var outside = Directory.CreateTempSubdirectory("llmmesh-outside-").FullName;
        try
        {
            var linkedFolder = Path.Combine(_store.Root, "20300101T000000Z-linked");
            Directory.CreateSymbolicLink(linkedFolder, real.Directory);
            Assert.Contains("link", Assert.Throws<BundleCorruptException>(() => _store.Open("20300101T000000Z-linked", VaeBundle.Kind)).Message);

            var weights = real.PathOf(VaeBundle.WeightsFile);
            File.Move(weights, Path.Combine(outside, VaeBundle.WeightsFile));
            File.CreateSymbolicLink(weights, Path.Combine(outside, VaeBundle.WeightsFile));
            Assert.Contains("link", Assert.Throws<BundleCorruptException>(() => _store.Open(real.Version, VaeBundle.Kind)).Message);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    private ModelBundle Publish(SentenceVae model, TimeProvider? clock = null) =>
        clock is null
            ? BundleWriter.PublishVae(_store, model, TinyData.Options() with { WordDropout = 0.3 },
                new BundleOrigin("run123", "coco", "coco", "corpus-sha", "vocab0123456789a"),
                new Dictionary<string, double> { ["validation_nll_per_token"] = 3.25 }, new JsonObject { ["corpus"] = "coco" })
            : _store.Publish(new BundleManifest { Kind = VaeBundle.Kind, RunId = "run123", CorpusSha256 = "c", TokenizerVersion = "v" },
                directory => model.save(Path.Combine(directory, VaeBundle.WeightsFile)), clock);

    private static SentenceVae TrainedModel()
    {
        var model = new SentenceVae(TinyData.Config);
        using var generator = new Generator(9, CPU);
        model.ResetParameters(generator);
        return model;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
