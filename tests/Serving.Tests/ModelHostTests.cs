using LlmMesh.Contracts.Events;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmMesh.Serving.Tests;

/// <summary>Hot reload mechanics with stand-in models (no libtorch).</summary>
public sealed class ModelHostTests : IDisposable
{
    private const string Kind = "test-model";
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-host-").FullName;
    private readonly ModelBundleStore _store;
    private readonly Vocabularies _vocabularies = new();

    public ModelHostTests() => _store = new ModelBundleStore(_root);

    [Fact]
    public async Task Nothing_is_served_before_a_model_is_loaded()
    {
        var host = CreateHost();

        Assert.False(host.IsReady);
        Assert.Throws<ModelNotReadyException>(host.Acquire);
        await Assert.ThrowsAsync<BundleNotFoundException>(() => host.LoadAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_new_model_takes_new_requests_while_running_ones_finish_on_theirs()
    {
        var host = CreateHost();
        var first = Publish("v1", 1);
        await host.LoadAsync(null, CancellationToken.None);
        var running = host.Acquire();

        var second = Publish("v1", 2);
        await host.LoadAsync(null, CancellationToken.None);

        Assert.Equal(second.Version, host.Current!.Version);
        Assert.Equal(first.Version, running.Info.Version);
        Assert.False(running.Model.Disposed); // still serving the request that started on it
        using (var next = host.Acquire())
        {
            Assert.Equal(second.Version, next.Info.Version);
        }
        var old = running.Model;
        running.Dispose();
        Assert.True(old.Disposed);
        Assert.False(host.Acquire().Model.Disposed);
    }

    [Fact]
    public async Task A_bundle_whose_vocabulary_the_tokenizer_lacks_is_refused_and_the_current_model_stays()
    {
        var host = CreateHost();
        var good = Publish("v1", 1);
        await host.LoadAsync(null, CancellationToken.None);
        var foreign = Publish("unknown-vocabulary", 2);

        var error = await Assert.ThrowsAsync<ModelRefusedException>(() => host.LoadAsync(foreign.Version, CancellationToken.None));

        Assert.Contains("unknown-vocabulary", error.Message);
        Assert.Equal(good.Version, host.Current!.Version);
        Assert.True(host.WasRefused(foreign.Version));
    }

    [Fact]
    public async Task A_corrupt_bundle_is_refused_and_an_unknown_one_is_not_found()
    {
        var host = CreateHost();
        var corrupt = Publish("v1", 1);
        File.WriteAllText(corrupt.PathOf("weights.bin"), "tampered");

        await Assert.ThrowsAsync<ModelRefusedException>(() => host.LoadAsync(corrupt.Version, CancellationToken.None));
        await Assert.ThrowsAsync<BundleNotFoundException>(() => host.LoadAsync("20990101T000000Z-nothere", CancellationToken.None));
        Assert.False(host.IsReady);
    }

    [Fact]
    public async Task A_pinned_request_gets_the_version_it_names()
    {
        var host = CreateHost();
        var old = Publish("v1", 1);
        Publish("v1", 2);
        await host.LoadAsync(null, CancellationToken.None);

        using var pinned = host.Acquire(old.Version);
        using var again = host.Acquire(old.Version);

        Assert.Equal(old.Version, pinned.Info.Version);
        Assert.Same(pinned.Model, again.Model); // cached, not loaded twice
        Assert.NotEqual(old.Version, host.Current!.Version);
        Assert.Throws<BundleNotFoundException>(() => host.Acquire("20990101T000000Z-nothere"));
    }

    [Fact]
    public async Task Model_published_events_load_newer_bundles_of_the_same_kind_only()
    {
        var host = CreateHost();
        var current = Publish("v1", 2);
        var older = Publish("v1", 1, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await host.LoadAsync(current.Version, CancellationToken.None);
        var consumer = new ModelPublishedConsumer<FakeModel>(host, NullLogger<ModelPublishedConsumer<FakeModel>>.Instance);

        await consumer.HandleAsync(new ModelPublished("r", older.Version, older.Directory, Kind, "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(current.Version, host.Current!.Version);

        var newer = Publish("v1", 3, DateTimeOffset.UtcNow.AddMinutes(1));
        await consumer.HandleAsync(new ModelPublished("r", newer.Version, newer.Directory, "another-kind", "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(current.Version, host.Current!.Version);

        await consumer.HandleAsync(new ModelPublished("r", newer.Version, newer.Directory, Kind, "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(newer.Version, host.Current!.Version);
    }

    private ModelHost<FakeModel> CreateHost() =>
        new(_store, new FakeLoader(), _vocabularies, NullLogger<ModelHost<FakeModel>>.Instance);

    private ModelBundle Publish(string vocabulary, int content, DateTimeOffset? at = null) =>
        _store.Publish(new BundleManifest { Kind = Kind, RunId = $"run{content}", CorpusSha256 = "c", TokenizerVersion = vocabulary },
            directory => File.WriteAllText(Path.Combine(directory, "weights.bin"), $"weights {content}"),
            at is null ? null : new FixedClock(at.Value));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public sealed class FakeModel(ModelBundle bundle) : IServingModel
    {
        public ModelBundle Bundle => bundle;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    private sealed class FakeLoader : IModelLoader<FakeModel>
    {
        public IReadOnlyList<string> Kinds => [ModelHostTests.Kind];
        public FakeModel Load(ModelBundle bundle) => new(bundle);
    }

    private sealed class Vocabularies : IVocabularyCatalog
    {
        public Task<bool> HasAsync(string version, CancellationToken cancellationToken) => Task.FromResult(version == "v1");
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
