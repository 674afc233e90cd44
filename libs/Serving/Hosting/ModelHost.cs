using LlmMesh.ModelStore;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>A model a service serves, built from one bundle.</summary>
public interface IServingModel : IDisposable
{
    ModelBundle Bundle { get; }
}

/// <summary>Builds (and warms up) a service's model from a verified bundle.</summary>
public interface IModelLoader<out TModel> where TModel : IServingModel
{
    /// <summary>The bundle kinds this service can serve.</summary>
    IReadOnlyList<string> Kinds { get; }

    TModel Load(ModelBundle bundle);
}

/// <summary>Whether the tokenizer can serve a vocabulary version.</summary>
public interface IVocabularyCatalog
{
    Task<bool> HasAsync(string version, CancellationToken cancellationToken);
}

public sealed class ModelNotReadyException(string message) : MeshException(MeshErrorKind.Unavailable, message);

/// <summary>A bundle this service will not serve (its vocabulary is missing, it is corrupt or incompatible).</summary>
public sealed class ModelRefusedException(string message) : MeshException(MeshErrorKind.FailedPrecondition, message);

public sealed record LoadedModel(ModelBundle Bundle, DateTimeOffset LoadedAt)
{
    public string Version => Bundle.Version;
}

/// <summary>Use of a model for the length of a request: the model is not disposed while leased.</summary>
public sealed class ModelLease<TModel> : IDisposable where TModel : IServingModel
{
    private readonly Entry<TModel> _entry;
    private int _released;

    internal ModelLease(Entry<TModel> entry) => _entry = entry;

    public TModel Model => _entry.Model;

    public LoadedModel Info => _entry.Info;

    /// <summary>Leases of this model, this one included.</summary>
    public int ActiveLeases => _entry.Leases;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _entry.Release();
        }
    }
}

internal sealed class Entry<TModel>(TModel model, LoadedModel info) where TModel : IServingModel
{
    private int _leases;
    private bool _retired;

    public TModel Model => model;
    public LoadedModel Info => info;
    public int Leases => Volatile.Read(ref _leases);

    public ModelLease<TModel> Lease()
    {
        Interlocked.Increment(ref _leases);
        return new ModelLease<TModel>(this);
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _retired))
        {
            DisposeOnce();
        }
    }

    /// <summary>No new leases: disposed once the last running request ends.</summary>
    public void Retire()
    {
        Volatile.Write(ref _retired, true);
        if (Volatile.Read(ref _leases) == 0)
        {
            DisposeOnce();
        }
    }

    private int _disposed;

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            model.Dispose();
        }
    }
}

/// <summary>
/// Holds the model a service serves and swaps it without failing requests: a new bundle is loaded
/// and warmed up beside the current one, then takes new requests while requests already running
/// finish on the model they started with. Other versions can be leased by name (pinned requests)
/// and are kept in a small cache.
/// </summary>
public sealed class ModelHost<TModel>(
    ModelBundleStore store,
    IModelLoader<TModel> loader,
    IVocabularyCatalog vocabularies,
    ILogger<ModelHost<TModel>> logger) where TModel : IServingModel
{
    private const int PinnedCacheSize = 2;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly Lock _gate = new();
    private readonly LinkedList<Entry<TModel>> _pinned = [];
    private readonly Dictionary<string, Task<Entry<TModel>>> _pinnedLoads = [];
    private readonly HashSet<string> _refused = [];
    private Entry<TModel>? _current;
    private string _status = "no model loaded yet";

    public ModelBundleStore Store => store;

    public bool Accepts(string kind) => loader.Kinds.Contains(kind);

    public bool IsReady => _current is not null;

    public string Status => _status;

    public LoadedModel? Current => _current?.Info;

    /// <summary>Leases the current model.</summary>
    public ModelLease<TModel> Acquire()
    {
        lock (_gate)
        {
            return (_current ?? throw new ModelNotReadyException($"the model is not ready: {_status}")).Lease();
        }
    }

    /// <summary>
    /// Leases a given bundle version (empty = the current model): the current one, a cached one, or one loaded on demand. Many
    /// requests for the same version at once share one load, which runs on the thread pool and
    /// checks the bundle exactly as <see cref="LoadAsync"/> does; each caller waits only as long as
    /// its own <paramref name="cancellationToken"/> allows.
    /// </summary>
    public async Task<ModelLease<TModel>> AcquireAsync(string version, CancellationToken cancellationToken)
    {
        if (version.Length == 0)
        {
            return Acquire();
        }
        while (true)
        {
            Task<Entry<TModel>> loading;
            lock (_gate)
            {
                if (LeaseLoaded(version) is { } lease)
                {
                    return lease;
                }
                if (!_pinnedLoads.TryGetValue(version, out loading!))
                {
                    loading = Task.Run(() => LoadPinnedAsync(version));
                    _pinnedLoads[version] = loading;
                }
            }
            await loading.WaitAsync(cancellationToken);
            // Loaded and cached: the next pass leases it (or loads again if a newer pin evicted it meanwhile).
        }
    }

    private ModelLease<TModel>? LeaseLoaded(string version)
    {
        if (_current?.Info.Version == version)
        {
            return _current.Lease();
        }
        var cached = _pinned.FirstOrDefault(e => e.Info.Version == version);
        if (cached is null)
        {
            return null;
        }
        _pinned.Remove(cached);
        _pinned.AddFirst(cached);
        return cached.Lease();
    }

    private async Task<Entry<TModel>> LoadPinnedAsync(string version)
    {
        try
        {
            var bundle = await OpenServableAsync(version, CancellationToken.None);
            var entry = new Entry<TModel>(loader.Load(bundle), new LoadedModel(bundle, DateTimeOffset.UtcNow));
            lock (_gate)
            {
                _pinned.AddFirst(entry);
                while (_pinned.Count > PinnedCacheSize)
                {
                    var oldest = _pinned.Last!.Value;
                    _pinned.RemoveLast();
                    oldest.Retire();
                }
            }
            logger.LogInformation("Loaded pinned bundle {Version} beside the current one", version);
            return entry;
        }
        finally
        {
            lock (_gate)
            {
                _pinnedLoads.Remove(version);
            }
        }
    }

    /// <summary>
    /// Loads a bundle (null = the newest in the store) and makes it current. Throws
    /// BundleNotFoundException, or ModelRefusedException and keeps the current model.
    /// </summary>
    public async Task<LoadedModel> LoadAsync(string? version, CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            version ??= store.LatestVersion() ?? throw new BundleNotFoundException("(newest)");
            if (_current?.Info.Version == version)
            {
                return _current.Info;
            }
            var bundle = await OpenServableAsync(version, cancellationToken);

            var started = TimeProvider.System.GetTimestamp();
            var model = loader.Load(bundle);
            var entry = new Entry<TModel>(model, new LoadedModel(bundle, DateTimeOffset.UtcNow));
            Entry<TModel>? previous;
            lock (_gate)
            {
                previous = _current;
                _current = entry;
                _status = $"serving bundle {version}";
            }
            previous?.Retire();
            logger.LogInformation("Serving bundle {Version} (vocabulary {Vocabulary}); loaded and warmed up in {Elapsed}",
                version, bundle.Manifest.TokenizerVersion, TimeProvider.System.GetElapsedTime(started));
            return entry.Info;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>True when a version was refused before (it is not retried automatically).</summary>
    public bool WasRefused(string version)
    {
        lock (_gate)
        {
            return _refused.Contains(version);
        }
    }

    public void ReportStatus(string status)
    {
        if (_current is null)
        {
            _status = status;
        }
    }

    /// <summary>Opens and verifies a bundle this service can serve with a vocabulary the tokenizer has, or refuses it.</summary>
    private async Task<ModelBundle> OpenServableAsync(string version, CancellationToken cancellationToken)
    {
        ModelBundle bundle;
        try
        {
            bundle = store.Open(version, loader.Kinds);
        }
        catch (Exception ex) when (ex is BundleCorruptException or BundleIncompatibleException)
        {
            throw Refuse(version, ex.Message);
        }
        if (!await vocabularies.HasAsync(bundle.Manifest.TokenizerVersion, cancellationToken))
        {
            throw Refuse(version,
                $"bundle {version} was trained with vocabulary {bundle.Manifest.TokenizerVersion}, which the tokenizer does not have");
        }
        return bundle;
    }

    private ModelRefusedException Refuse(string version, string reason)
    {
        lock (_gate)
        {
            _refused.Add(version);
        }
        logger.LogWarning("Refused bundle {Version}: {Reason}; {Status}", version, reason, _current is null ? "no model is loaded" : $"keeping {_current.Info.Version}");
        return new ModelRefusedException(reason);
    }
}
