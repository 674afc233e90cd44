using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmMesh.Serving.Tests;

/// <summary>Named models side by side: resolution, aliases, pins, per-model hot reload and the residency bound (stand-in models, no libtorch).</summary>
public sealed class NamedModelTests : IDisposable
{
    private const string Kind = "test-model";
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-named-").FullName;
    private readonly ModelBundleStore _store;
    private readonly ModelCatalog _catalog;
    private readonly CountingLoader _loader = new();
    private int _published;

    public NamedModelTests()
    {
        _store = new ModelBundleStore(_root);
        _catalog = new ModelCatalog(_store);
    }

    [Fact]
    public async Task Requests_name_their_model_and_the_default_model_answers_requests_naming_none()
    {
        var coco = Publish("coco");
        var poems = Publish("poems");
        var host = CreateHost();

        using var byDefault = await host.AcquireAsync("", CancellationToken.None);
        using var named = await host.AcquireAsync("poems", CancellationToken.None);

        Assert.Equal(coco.Version, byDefault.Info.Version);
        Assert.Equal(poems.Version, named.Info.Version);
        Assert.Equal("poems", named.Info.Model);
        Assert.Equal(coco.Version, host.Current!.Version);
        Assert.Equal([poems.Version, coco.Version], host.Resident().Select(r => r.Loaded.Version));
        Assert.All(host.Resident(), r => Assert.True(r.Serving));

        var unknown = await Assert.ThrowsAsync<MeshException>(() => host.AcquireAsync("sonnets", CancellationToken.None));
        Assert.Equal(MeshErrorKind.NotFound, unknown.Kind);
        Assert.Contains("'sonnets'", unknown.Message);
        var badName = await Assert.ThrowsAsync<ArgumentException>(() => host.AcquireAsync("no such/model", CancellationToken.None));
        Assert.Contains("not a model name", badName.Message);
        var badVersion = await Assert.ThrowsAsync<MeshException>(() => host.AcquireAsync("poems@20990101T000000Z-nothere", CancellationToken.None));
        Assert.Equal(MeshErrorKind.NotFound, badVersion.Kind);
    }

    [Fact]
    public async Task A_new_version_of_one_model_replaces_it_once_warm_and_leaves_the_other_untouched()
    {
        Publish("coco");
        var poems1 = Publish("poems");
        var host = CreateHost();
        using (await host.AcquireAsync("", CancellationToken.None))
        using (await host.AcquireAsync("poems", CancellationToken.None))
        {
        }
        var cocoModel = host.Resident().Single(r => r.Loaded.Model == "coco").Loaded;
        var loads = _loader.Loads;

        var poems2 = Publish("poems");
        var running = await host.AcquireAsync("poems", CancellationToken.None); // answered by the version that is warm
        Assert.Equal(poems1.Version, running.Info.Version);
        var followed = await host.FollowAsync("poems", CancellationToken.None);

        Assert.Equal(poems2.Version, followed!.Version);
        using (var next = await host.AcquireAsync("poems", CancellationToken.None))
        {
            Assert.Equal(poems2.Version, next.Info.Version);
        }
        Assert.False(running.Model.Disposed); // its request still runs on it
        var old = running.Model;
        running.Dispose();
        Assert.True(old.Disposed);
        Assert.Equal(loads + 1, _loader.Loads); // only the new version was loaded
        Assert.Same(cocoModel, host.Resident().Single(r => r.Loaded.Model == "coco").Loaded);
        Assert.Null(await host.FollowAsync("sonnets", CancellationToken.None)); // a model it does not serve stays unloaded
    }

    [Fact]
    public async Task The_stable_alias_decides_what_the_name_means_and_a_pinned_version_is_served_beside_it()
    {
        Publish("coco");
        var v1 = Publish("poems");
        var v2 = Publish("poems");
        var host = CreateHost();

        using (var pinned = await host.AcquireAsync($"poems@{v1.Version}", CancellationToken.None))
        using (var latest = await host.AcquireAsync("poems", CancellationToken.None))
        {
            Assert.Equal(v1.Version, pinned.Info.Version);
            Assert.Equal(v2.Version, latest.Info.Version);
        }

        _catalog.SetAlias("poems", ModelCatalog.StableAlias, v1.Version); // rollback
        await host.FollowAsync("poems", CancellationToken.None);
        using (var rolledBack = await host.AcquireAsync("poems", CancellationToken.None))
        using (var newest = await host.AcquireAsync("poems@latest", CancellationToken.None))
        {
            Assert.Equal(v1.Version, rolledBack.Info.Version);
            Assert.Equal(v2.Version, newest.Info.Version);
        }
        var v3 = Publish("poems");
        await host.FollowAsync("poems", CancellationToken.None);
        using (var stillStable = await host.AcquireAsync("poems", CancellationToken.None))
        {
            Assert.Equal(v1.Version, stillStable.Info.Version); // a new version does not move the stable alias
        }

        _catalog.SetAlias("poems", ModelCatalog.StableAlias, "");
        await host.FollowAsync("poems", CancellationToken.None);
        using var forward = await host.AcquireAsync("poems", CancellationToken.None);
        Assert.Equal(v3.Version, forward.Info.Version);
        Assert.Throws<ArgumentException>(() => _catalog.SetAlias("poems", ModelCatalog.LatestAlias, v1.Version));
        Assert.Equal(MeshErrorKind.NotFound, Assert.Throws<MeshException>(() => _catalog.SetAlias("poems", ModelCatalog.StableAlias, "20990101T000000Z-nothere")).Kind);
    }

    [Fact]
    public async Task Past_the_bound_the_least_recently_used_model_leaves_and_the_default_model_stays()
    {
        var coco = Publish("coco");
        Publish("a");
        Publish("b");
        var host = CreateHost(maxLoaded: 2);

        using (await host.AcquireAsync("", CancellationToken.None))
        {
        }
        var a = await host.AcquireAsync("a", CancellationToken.None);
        var aModel = a.Model;
        a.Dispose();
        using (await host.AcquireAsync("b", CancellationToken.None))
        {
        }

        Assert.Equal(["b", "coco"], host.Resident().Select(r => r.Loaded.Model).Order());
        Assert.True(aModel.Disposed);
        Assert.Equal(coco.Version, host.Current!.Version);

        var loads = _loader.Loads;
        using (var again = await host.AcquireAsync("a", CancellationToken.None))
        {
            Assert.False(again.Model.Disposed);
        }
        Assert.Equal(loads + 1, _loader.Loads);
        Assert.Equal(["a", "coco"], host.Resident().Select(r => r.Loaded.Model).Order());
    }

    [Fact]
    public async Task A_loaded_version_is_served_until_the_catalog_chooses_anew()
    {
        var v1 = Publish("coco");
        Publish("coco");
        var host = CreateHost();

        await host.LoadAsync(v1.Version, CancellationToken.None);
        using (var served = await host.AcquireAsync("", CancellationToken.None))
        {
            Assert.Equal(v1.Version, served.Info.Version);
        }

        var v3 = Publish("coco");
        await host.FollowAsync("coco", CancellationToken.None);
        Assert.Equal(v3.Version, host.Current!.Version);
    }

    [Fact]
    public void A_version_held_by_a_serving_process_or_marked_stable_is_not_deleted()
    {
        var v1 = Publish("poems");
        var v2 = Publish("poems");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var serving = new ServingRegistry(_store, clock);
        serving.Report("generator", "generator-test-1", [v1.Version]);

        var busy = Assert.Throws<MeshException>(() => _catalog.DeleteVersion("poems", v1.Version, serving.ServedBy));
        Assert.Equal(MeshErrorKind.FailedPrecondition, busy.Kind);
        Assert.Contains("generator (generator-test-1)", busy.Message);

        _catalog.SetAlias("poems", ModelCatalog.StableAlias, v2.Version);
        Assert.Equal(MeshErrorKind.FailedPrecondition, Assert.Throws<MeshException>(() => _catalog.DeleteVersion("poems", v2.Version, serving.ServedBy)).Kind);

        clock.Advance(ServingRegistry.Expiry); // the process stopped reporting: it is gone
        Assert.Equal(v1.Version, _catalog.DeleteVersion("poems", v1.Version, serving.ServedBy).Version);
        Assert.Equal([v2.Version], _catalog.Get("poems").Versions.Select(v => v.Version));
        Assert.Equal(MeshErrorKind.NotFound, Assert.Throws<MeshException>(() => _catalog.DeleteVersion("poems", v1.Version, serving.ServedBy)).Kind);
        Assert.False(Directory.Exists(v1.Directory));
    }

    [Fact]
    public void Bundles_from_before_named_models_are_versions_of_coco()
    {
        var legacy = _store.Publish(new BundleManifest { Kind = Kind, RunId = "old", CorpusSha256 = "c", TokenizerVersion = "v1" },
            directory => File.WriteAllText(Path.Combine(directory, "weights.bin"), "old"));

        var model = Assert.Single(_catalog.List());
        Assert.Equal("coco", model.Name);
        Assert.Equal(legacy.Version, model.Latest);
        Assert.Equal(new ResolvedModel("coco", legacy.Version), _catalog.Resolve("", "coco", _ => true));
        Assert.Equal(new ResolvedModel("coco", legacy.Version), _catalog.Resolve(legacy.Version, "coco", _ => true));
    }

    private ModelHost<ModelHostTests.FakeModel> CreateHost(int maxLoaded = 4) =>
        new(_catalog, _loader, new AnyVocabulary(), Options.Create(new ServingOptions { MaxLoadedModels = maxLoaded }),
            NullLogger<ModelHost<ModelHostTests.FakeModel>>.Instance);

    /// <summary>A version of <paramref name="model"/>, one second after the previous one (versions sort by time).</summary>
    private ModelBundle Publish(string model)
    {
        var n = Interlocked.Increment(ref _published);
        return _store.Publish(new BundleManifest { Kind = Kind, RunId = $"run{n}", Model = model, CorpusSha256 = "c", TokenizerVersion = "v1" },
            directory => File.WriteAllText(Path.Combine(directory, "weights.bin"), $"{model} {n}"),
            new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(n)));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class CountingLoader : IModelLoader<ModelHostTests.FakeModel>
    {
        private int _loads;

        public int Loads => Volatile.Read(ref _loads);

        public IReadOnlyList<string> Kinds => [Kind];

        public ModelHostTests.FakeModel Load(ModelBundle bundle)
        {
            Interlocked.Increment(ref _loads);
            return new(bundle);
        }
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
