using Microsoft.Extensions.Options;
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
        var missing = await Assert.ThrowsAnyAsync<MeshException>(() => host.LoadAsync(null, CancellationToken.None));
        Assert.Equal(MeshErrorKind.NotFound, missing.Kind);
        Assert.Contains("model 'coco' was not found", missing.Message);
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

        using var pinned = await host.AcquireAsync(old.Version, CancellationToken.None);
        using var again = await host.AcquireAsync(old.Version, CancellationToken.None);
        using var current = await host.AcquireAsync("", CancellationToken.None);

        Assert.Equal(old.Version, pinned.Info.Version);
        Assert.Same(pinned.Model, again.Model); // cached, not loaded twice
        Assert.NotEqual(old.Version, host.Current!.Version);
        Assert.Equal(host.Current.Version, current.Info.Version);
        await Assert.ThrowsAsync<BundleNotFoundException>(() => host.AcquireAsync("20990101T000000Z-nothere", CancellationToken.None));
    }

    [Fact]
    public async Task Thirty_two_simultaneous_requests_for_a_pinned_version_share_one_load()
    {
        var loader = new FakeLoader();
        var host = CreateHost(loader);
        var old = Publish("v1", 1);
        Publish("v1", 2);
        await host.LoadAsync(null, CancellationToken.None);
        var gate = loader.Gate = new TaskCompletionSource();

        // 32 threads ask at once; the load is held until every one of them has asked.
        using var asked = new CountdownEvent(32);
        var requests = Enumerable.Range(0, 32).Select(_ => Task.Run(() =>
        {
            var request = host.AcquireAsync(old.Version, CancellationToken.None);
            asked.Signal();
            return request;
        })).ToArray();
        Assert.True(asked.Wait(TimeSpan.FromSeconds(10)), "the requests did not all start");
        await loader.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        gate.SetResult();
        var leases = await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, loader.Loads); // the current model, then the pinned one once
        Assert.All(leases, l => Assert.Same(leases[0].Model, l.Model));
        Assert.All(leases, l => Assert.Equal(old.Version, l.Info.Version));
        Assert.Equal(32, leases[0].ActiveLeases);
        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task A_pinned_version_is_checked_like_a_loaded_one_and_a_waiting_caller_can_give_up()
    {
        var loader = new FakeLoader();
        var host = CreateHost(loader);
        Publish("v1", 1);
        await host.LoadAsync(null, CancellationToken.None);
        var foreign = Publish("unknown-vocabulary", 2);
        var corrupt = Publish("v1", 3);
        File.WriteAllText(corrupt.PathOf("weights.bin"), "tampered");

        var refused = await Assert.ThrowsAsync<ModelRefusedException>(() => host.AcquireAsync(foreign.Version, CancellationToken.None));
        Assert.Contains("unknown-vocabulary", refused.Message);
        await Assert.ThrowsAsync<ModelRefusedException>(() => host.AcquireAsync(corrupt.Version, CancellationToken.None));
        Assert.Equal(1, loader.Loads);

        var slow = Publish("v1", 4);
        loader.Gate = new TaskCompletionSource();
        using var giveUp = new CancellationTokenSource();
        var waiting = host.AcquireAsync(slow.Version, giveUp.Token);
        await loader.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        loader.Gate.SetResult();
        using var later = await host.AcquireAsync(slow.Version, CancellationToken.None);
        Assert.Equal(slow.Version, later.Info.Version);
        Assert.Equal(2, loader.Loads); // the abandoned load finished and was kept
    }

    [Fact]
    public async Task Model_published_events_load_newer_bundles_of_the_same_kind_only()
    {
        var host = CreateHost();
        var current = Publish("v1", 2);
        var older = Publish("v1", 1, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await host.LoadAsync(current.Version, CancellationToken.None);
        var consumer = new ModelPublishedConsumer<FakeModel>(host, new LlmMesh.ModelStore.Mirroring.SharedFolderMirror(), NullLogger<ModelPublishedConsumer<FakeModel>>.Instance);

        await consumer.HandleAsync(new ModelPublished("r", older.Version, older.Directory, Kind, "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(current.Version, host.Current!.Version);

        var newer = Publish("v1", 3, DateTimeOffset.UtcNow.AddMinutes(1));
        await consumer.HandleAsync(new ModelPublished("r", newer.Version, newer.Directory, "another-kind", "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(current.Version, host.Current!.Version);

        await consumer.HandleAsync(new ModelPublished("r", newer.Version, newer.Directory, Kind, "v1", new Dictionary<string, double>(), DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Equal(newer.Version, host.Current!.Version);
    }

    private ModelHost<FakeModel> CreateHost(FakeLoader? loader = null) =>
        new(new ModelCatalog(_store), loader ?? new FakeLoader(), _vocabularies, Options.Create(new ServingOptions()), NullLogger<ModelHost<FakeModel>>.Instance);

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
        private int _loads;

        /// <summary>When set, a load signals <see cref="Started"/> and waits for it.</summary>
        public TaskCompletionSource? Gate { get; set; }

        public TaskCompletionSource Started { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Loads => Volatile.Read(ref _loads);

        public IReadOnlyList<string> Kinds => [ModelHostTests.Kind];

        public FakeModel Load(ModelBundle bundle)
        {
            Interlocked.Increment(ref _loads);
            if (Gate is { } gate)
            {
                Started.TrySetResult();
                gate.Task.Wait(TimeSpan.FromSeconds(30));
                Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            return new(bundle);
        }
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
