using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
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

    public string Model => Bundle.Manifest.ModelName;
}

/// <summary>A model this service holds: whether it answers requests naming the bare model, and how many requests use it.</summary>
public sealed record ResidentModel(LoadedModel Loaded, bool Serving, int ActiveRequests, long LastUsed);

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

    /// <summary>When a request last used it (the host's clock), for least-recently-used eviction.</summary>
    public long LastUsed { get; set; }

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

/// <summary>Which models a serving service holds (section "Serving").</summary>
public sealed class ServingOptions
{
    public const string Section = "Serving";

    /// <summary>The model a request naming none gets; the service is ready once it is loaded.</summary>
    [Required, RegularExpression("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    public string DefaultModel { get; set; } = BundleManifest.LegacyModel;

    /// <summary>Models held at once; past it the least recently used leaves (the default model's current version never does).</summary>
    [Range(1, 64)]
    public int MaxLoadedModels { get; set; } = 4;

    /// <summary>This replica's name (from LlmMesh:Instance, see <see cref="MeshInstance"/>).</summary>
    public string Instance { get; set; } = "";
}

/// <summary>
/// Holds the models a service serves, several side by side, and swaps versions without failing
/// requests. A request names a model (empty = the default model): the host resolves it through the
/// model catalog to one bundle version, leases it if it is loaded, or loads it on the thread pool
/// (many requests for one version share one load; other models' requests never wait for it). When
/// a model's own newest (or stable) version changes, the version it serves keeps answering until
/// the new one is loaded and warmed up; requests already running finish on the version they started
/// with. At most <see cref="ServingOptions.MaxLoadedModels"/> are held: the least recently used
/// leaves first.
/// </summary>
public sealed class ModelHost<TModel>(
    ModelCatalog catalog,
    IModelLoader<TModel> loader,
    IVocabularyCatalog vocabularies,
    IOptions<ServingOptions> options,
    ILogger<ModelHost<TModel>> logger) where TModel : IServingModel
{
    private readonly ServingOptions _options = options.Value;
    private readonly Lock _gate = new();
    // Every loaded version; the entries answering bare model names; loads in flight.
    private readonly Dictionary<string, Entry<TModel>> _resident = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry<TModel>> _serving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<Entry<TModel>>> _loads = new(StringComparer.Ordinal);
    // LoadModel's choice per model, kept while the catalog's choice is still the one it overrode.
    private readonly Dictionary<string, (string Version, string Overrode)> _overrides = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private long _clock;
    private string _status = "no model loaded yet";

    /// <summary>Raised (outside the host's lock) whenever the set of held versions changes.</summary>
    public event Action? ResidentChanged;

    public ModelCatalog Catalog => catalog;

    public string DefaultModel => _options.DefaultModel;

    /// <summary>This replica's name, reported in ModelInfo.</summary>
    public string Instance => _options.Instance;

    public bool Accepts(string kind) => loader.Kinds.Contains(kind);

    public bool IsReady => Current is not null;

    public string Status => _status;

    /// <summary>The default model's version that answers requests naming no model.</summary>
    public LoadedModel? Current
    {
        get
        {
            lock (_gate)
            {
                return _serving.GetValueOrDefault(DefaultModel)?.Info;
            }
        }
    }

    /// <summary>What the service holds, most recently used first.</summary>
    public IReadOnlyList<ResidentModel> Resident()
    {
        lock (_gate)
        {
            return _resident.Values
                .OrderByDescending(e => e.LastUsed)
                .Select(e => new ResidentModel(e.Info, _serving.GetValueOrDefault(e.Info.Model) == e, e.Leases, e.LastUsed))
                .ToArray();
        }
    }

    /// <summary>Leases the default model's current version.</summary>
    public ModelLease<TModel> Acquire()
    {
        lock (_gate)
        {
            var entry = _serving.GetValueOrDefault(DefaultModel) ?? throw new ModelNotReadyException($"the model is not ready: {_status}");
            return Use(entry);
        }
    }

    /// <summary>
    /// Leases the model a reference names: empty (the default model), <c>name</c>,
    /// <c>name@version</c>, <c>name@latest</c>, <c>name@stable</c> or a bare bundle version. Each
    /// caller waits for a load only as long as its own <paramref name="cancellationToken"/> allows.
    /// </summary>
    public async Task<ModelLease<TModel>> AcquireAsync(string reference, CancellationToken cancellationToken)
    {
        while (true)
        {
            var target = Resolve(reference);
            var followsName = !IsPinned(reference);
            Task<Entry<TModel>> loading;
            lock (_gate)
            {
                if (_resident.TryGetValue(target.Version, out var loaded))
                {
                    if (followsName)
                    {
                        Serve(target.Name, loaded);
                    }
                    return Use(loaded);
                }
                loading = StartLoad(target, followsName);
                if (followsName && _serving.TryGetValue(target.Name, out var previous))
                {
                    // A newer version is warming up: the one serving the name answers until it is ready.
                    return Use(previous);
                }
            }
            try
            {
                await loading.WaitAsync(cancellationToken);
            }
            catch (ModelRefusedException) when (followsName)
            {
                // The name's newest version was refused: the next pass resolves the name without it.
            }
            // Loaded: the next pass leases it (or loads it again if it was evicted meanwhile).
        }
    }

    /// <summary>
    /// Loads a version (null = what the default model's name means) and serves it for its model
    /// until the catalog's choice for that model changes (a new version, a new stable alias).
    /// Throws BundleNotFoundException / NOT_FOUND, or ModelRefusedException and keeps what is served.
    /// </summary>
    public async Task<LoadedModel> LoadAsync(string? version, CancellationToken cancellationToken)
    {
        var target = version is null ? Resolve("") : Resolve(version);
        var loaded = await LoadAndServeAsync(target, cancellationToken);
        if (version is not null)
        {
            var chosen = catalog.Resolve(target.Name, DefaultModel, Servable).Version;
            lock (_gate)
            {
                if (chosen != target.Version)
                {
                    _overrides[target.Name] = (target.Version, chosen);
                }
                else
                {
                    _overrides.Remove(target.Name);
                }
            }
        }
        return loaded;
    }

    /// <summary>
    /// Brings a model's served version up to date with the catalog (hot reload), when this service
    /// serves that model or it is the default model; other models are untouched. Returns what serves the model afterwards.
    /// </summary>
    public async Task<LoadedModel?> FollowAsync(string model, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (model != DefaultModel && !_serving.ContainsKey(model))
            {
                return null;
            }
        }
        return await LoadAndServeAsync(Resolve(model), cancellationToken);
    }

    /// <summary>True when a version was refused before (a bare model name never resolves to it again).</summary>
    public bool WasRefused(string version)
    {
        lock (_gate)
        {
            return _refused.Contains(version);
        }
    }

    public void ReportStatus(string status)
    {
        if (Current is null)
        {
            _status = status;
        }
    }

    private async Task<LoadedModel> LoadAndServeAsync(ResolvedModel target, CancellationToken cancellationToken)
    {
        Task<Entry<TModel>> loading;
        lock (_gate)
        {
            if (_resident.TryGetValue(target.Version, out var loaded))
            {
                Serve(target.Name, loaded);
                return loaded.Info;
            }
            loading = StartLoad(target, serveWhenLoaded: true);
        }
        var entry = await loading.WaitAsync(cancellationToken);
        lock (_gate)
        {
            if (_resident.ContainsKey(target.Version))
            {
                Serve(target.Name, entry);
            }
        }
        return entry.Info;
    }

    private ResolvedModel Resolve(string reference)
    {
        var target = catalog.Resolve(reference, DefaultModel, Servable);
        if (!IsPinned(reference))
        {
            lock (_gate)
            {
                if (_overrides.TryGetValue(target.Name, out var chosen))
                {
                    if (chosen.Overrode == target.Version)
                    {
                        return target with { Version = chosen.Version };
                    }
                    _overrides.Remove(target.Name);
                }
            }
        }
        return target;
    }

    private bool Servable(BundleManifest manifest) => loader.Kinds.Contains(manifest.Kind) && !WasRefused(manifest.Version);

    private static bool IsPinned(string reference) => reference.Contains('@') || ModelBundleStore.IsValidVersion(reference);

    /// <summary>The load of a version, shared by everyone asking for it (call under the lock).</summary>
    private Task<Entry<TModel>> StartLoad(ResolvedModel target, bool serveWhenLoaded)
    {
        if (!_loads.TryGetValue(target.Version, out var loading))
        {
            loading = Task.Run(() => LoadEntryAsync(target, serveWhenLoaded));
            _loads[target.Version] = loading;
            // A background load nobody waits for may fail (refused): its failure is logged, not left unobserved.
            loading.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }
        return loading;
    }

    private async Task<Entry<TModel>> LoadEntryAsync(ResolvedModel target, bool serveWhenLoaded)
    {
        List<Entry<TModel>> evicted = [];
        try
        {
            var bundle = await OpenServableAsync(target.Version, CancellationToken.None);
            var started = TimeProvider.System.GetTimestamp();
            var entry = new Entry<TModel>(loader.Load(bundle), new LoadedModel(bundle, DateTimeOffset.UtcNow));
            lock (_gate)
            {
                _resident[target.Version] = entry;
                entry.LastUsed = ++_clock;
                if (serveWhenLoaded)
                {
                    Serve(target.Name, entry);
                }
                evicted = EvictBeyondBound();
            }
            logger.LogInformation("Loaded model {Model} version {Version} (vocabulary {Vocabulary}) in {Elapsed}",
                target.Name, target.Version, bundle.Manifest.TokenizerVersion, TimeProvider.System.GetElapsedTime(started));
            return entry;
        }
        finally
        {
            lock (_gate)
            {
                _loads.Remove(target.Version);
            }
            foreach (var entry in evicted)
            {
                logger.LogInformation("Unloaded model {Model} version {Version} (least recently used)", entry.Info.Model, entry.Info.Version);
                entry.Retire();
            }
            ResidentChanged?.Invoke();
        }
    }

    /// <summary>Makes <paramref name="entry"/> answer its model's name; the version it replaces leaves (call under the lock).</summary>
    private void Serve(string model, Entry<TModel> entry)
    {
        if (_serving.TryGetValue(model, out var previous) && previous == entry)
        {
            return;
        }
        _serving[model] = entry;
        if (model == DefaultModel)
        {
            _status = $"serving model {model} version {entry.Info.Version}";
        }
        if (previous is not null && _resident.Remove(previous.Info.Version))
        {
            previous.Retire();
            logger.LogInformation("Model {Model} now serves version {Version}; {Previous} leaves once its requests end", model, entry.Info.Version, previous.Info.Version);
            ThreadPool.QueueUserWorkItem(_ => ResidentChanged?.Invoke());
        }
    }

    private ModelLease<TModel> Use(Entry<TModel> entry)
    {
        entry.LastUsed = ++_clock;
        return entry.Lease();
    }

    /// <summary>Drops least recently used versions past the bound; the default model's current one stays (call under the lock).</summary>
    private List<Entry<TModel>> EvictBeyondBound()
    {
        List<Entry<TModel>> evicted = [];
        var keep = _serving.GetValueOrDefault(DefaultModel);
        while (_resident.Count > _options.MaxLoadedModels)
        {
            var oldest = _resident.Values.Where(e => e != keep).MinBy(e => e.LastUsed);
            if (oldest is null)
            {
                break;
            }
            _resident.Remove(oldest.Info.Version);
            if (_serving.GetValueOrDefault(oldest.Info.Model) == oldest)
            {
                _serving.Remove(oldest.Info.Model);
            }
            _overrides.Remove(oldest.Info.Model);
            evicted.Add(oldest);
        }
        return evicted;
    }

    /// <summary>Opens and verifies a bundle this service can serve with a vocabulary the tokenizer has, or refuses it.</summary>
    private async Task<ModelBundle> OpenServableAsync(string version, CancellationToken cancellationToken)
    {
        ModelBundle bundle;
        try
        {
            bundle = catalog.Store.Open(version, loader.Kinds);
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
        var current = Current;
        logger.LogWarning("Refused bundle {Version}: {Reason}; {Status}", version, reason, current is null ? "no model is loaded" : $"keeping {current.Version}");
        return new ModelRefusedException(reason);
    }
}
