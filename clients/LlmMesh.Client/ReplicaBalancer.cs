using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;

namespace LlmMesh.Client;

/// <summary>
/// Spreads the calls to one mesh service over its replicas, call by call: every replica that
/// service discovery lists (all of them under the service's name; a host name, such as a
/// Kubernetes headless Service's, stands for every address it resolves to, looked up again at
/// each probe round so pods that come and go are followed), in turn, skipping those whose
/// gRPC health is not SERVING (a replica without its model, or one that died: the DCP proxy in
/// front of a dead process still accepts connections, so only a probe tells). Probes run every
/// second; a replica whose call fails to connect leaves the rotation at once. When no replica is
/// healthy every one is tried, so callers get the service's own error.
/// </summary>
public sealed class ReplicaBalancer : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(800);
    private static readonly byte[] EmptyMessage = new byte[5];

    private readonly string _service;
    private readonly Uri _discovered;
    private readonly ServiceEndpointResolver _resolver;
    private readonly Func<string?> _apiKey;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _lookup;
    private readonly HttpClient _probe;
    private readonly ConcurrentDictionary<Uri, bool> _healthy = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, StrongBox<uint>> _turns = new(StringComparer.Ordinal);
    private volatile Uri[] _replicas = [];

    public ReplicaBalancer(string service, Uri discovered, ServiceEndpointResolver resolver, Func<string?> apiKey,
        Func<string, CancellationToken, Task<IPAddress[]>>? lookup = null, HttpMessageHandler? probeHandler = null)
    {
        _service = service;
        _discovered = discovered;
        _resolver = resolver;
        _apiKey = apiKey;
        _lookup = lookup ?? Dns.GetHostAddressesAsync;
        _probe = new HttpClient(probeHandler ?? new SocketsHttpHandler { ConnectTimeout = ProbeTimeout }) { Timeout = ProbeTimeout };
        _ = ProbeLoopAsync(_stop.Token);
    }

    /// <summary>The replicas last listed by service discovery.</summary>
    public IReadOnlyList<Uri> Replicas => _replicas;

    /// <summary>
    /// The next replica for a method (null until service discovery answered once: the call goes as addressed): each method takes its own turns, so a client that always makes
    /// the same pair of calls (model info, then generate) still spreads each of them.
    /// </summary>
    private Uri? Next(string method)
    {
        var replicas = _replicas;
        if (replicas.Length == 0)
        {
            return null;
        }
        var healthy = replicas.Where(r => _healthy.GetValueOrDefault(r, true)).ToArray();
        var pool = healthy.Length > 0 ? healthy : replicas;
        var turn = _turns.GetOrAdd(method, _ => new StrongBox<uint>());
        return pool[(int)(Interlocked.Increment(ref turn.Value) % (uint)pool.Length)];
    }

    /// <summary>
    /// The replica for a call to <paramref name="target"/>: the target itself when this balancer
    /// already chose it for the call (it sits in the handler chain more than once) and it is still
    /// in the rotation, else the next replica in turn (whatever service discovery picked).
    /// </summary>
    public Uri? Choose(Uri target, bool chosenBefore)
    {
        var known = chosenBefore ? _replicas.FirstOrDefault(r => r.Host == target.Host && r.Port == target.Port) : null;
        return known is not null && _healthy.GetValueOrDefault(known, true) ? known : Next(target.AbsolutePath);
    }

    /// <summary>A call to <paramref name="replica"/> could not reach it: out of the rotation until a probe finds it serving.</summary>
    public void Failed(Uri replica) => _healthy[replica] = false;

    private async Task ProbeLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(ProbeInterval);
        do
        {
            try
            {
                await RefreshAsync(stop);
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                // Service discovery not configured yet, or a transient failure: the next round retries.
            }
        }
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
    }

    private async Task RefreshAsync(CancellationToken stop)
    {
        var source = await _resolver.GetEndpointsAsync(_discovered.ToString(), stop);
        var listed = source.Endpoints.Select(e => ToUri(e.EndPoint)).OfType<Uri>().Distinct();
        var replicas = (await Task.WhenAll(listed.Select(endpoint => ExpandAsync(endpoint, stop)))).SelectMany(r => r).Distinct().ToArray();
        _replicas = replicas;
        if (replicas.Length < 2)
        {
            return; // one replica: nothing to choose, and its own errors speak for it
        }
        await Task.WhenAll(replicas.Select(async replica => _healthy[replica] = await IsServingAsync(replica, stop)));
    }

    /// <summary>
    /// A host name stands for every address it resolves to (a headless Service's ready pods), each
    /// a replica; loopback names and literal addresses stand for themselves, as does a name that
    /// cannot be looked up right now.
    /// </summary>
    private async Task<IEnumerable<Uri>> ExpandAsync(Uri endpoint, CancellationToken stop)
    {
        if (endpoint.HostNameType != UriHostNameType.Dns || endpoint.IsLoopback)
        {
            return [endpoint];
        }
        try
        {
            var addresses = await _lookup(endpoint.DnsSafeHost, stop);
            return addresses.Length == 0 ? [endpoint] : addresses.Distinct().Select(address => new UriBuilder(endpoint)
            {
                Host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString(),
            }.Uri);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return [endpoint];
        }
    }

    /// <summary>grpc.health.v1.Health/Check for the whole server, over plain HTTP/2 (no generated client needed).</summary>
    private async Task<bool> IsServingAsync(Uri replica, CancellationToken stop)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica, "/grpc.health.v1.Health/Check"))
            {
                Content = new ByteArrayContent(EmptyMessage),
                // gRPC endpoints speak HTTP/2 only (h2c, prior knowledge).
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
            if (_apiKey() is { Length: > 0 } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            using var response = await _probe.SendAsync(request, stop);
            var body = await response.Content.ReadAsByteArrayAsync(stop);
            // One length-prefixed HealthCheckResponse: field 1 (status) = 1 (SERVING).
            return body.Length >= 7 && BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1)) == 2 && body[5] == 0x08 && body[6] == 0x01;
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            return false;
        }
    }

    private static Uri? ToUri(EndPoint endpoint) => endpoint switch
    {
        UriEndPoint uri => uri.Uri,
        DnsEndPoint dns => new Uri($"http://{dns.Host}:{dns.Port}"),
        IPEndPoint ip => new Uri($"http://{ip}"),
        _ => null,
    };

    public override string ToString() => $"{_service}: {string.Join(", ", _replicas.Select(r => $"{r.Authority} {(_healthy.GetValueOrDefault(r, true) ? "up" : "down")}"))}";

    /// <summary>Stops probing (containers dispose synchronously too: a console tool's does).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _probe.Dispose();
    }
}

/// <summary>Sends each call to the replica <see cref="ReplicaBalancer"/> picks; a replica it cannot reach leaves the rotation.</summary>
public sealed class ReplicaBalancingHandler(ReplicaBalancer balancer) : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<bool> Chosen = new("llmmesh.replica-chosen");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var replica = request.RequestUri is { } target ? balancer.Choose(target, request.Options.TryGetValue(Chosen, out var chosen) && chosen) : null;
        request.Options.Set(Chosen, replica is not null);
        if (replica is not null && request.RequestUri is { } uri)
        {
            request.RequestUri = new UriBuilder(uri) { Scheme = replica.Scheme, Host = replica.Host, Port = replica.Port }.Uri;
        }
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException) when (replica is not null && !cancellationToken.IsCancellationRequested)
        {
            balancer.Failed(replica);
            throw;
        }
    }
}

/// <summary>
/// One <see cref="ReplicaBalancer"/> per discovered service, shared by every client of it in a
/// process. Service discovery is only asked for when a client uses it (a console tool with fixed
/// addresses never creates its resolver, which only disposes asynchronously).
/// </summary>
public sealed class ReplicaBalancers(IServiceProvider services) : IDisposable
{
    private readonly ConcurrentDictionary<Uri, Lazy<ReplicaBalancer>> _balancers = new();

    /// <summary>The balancer for a service discovery address (http://_grpc.{service}); null for a fixed address.</summary>
    public ReplicaBalancer? For(Uri address, Func<string?> apiKey) =>
        address.Host.StartsWith("_grpc.", StringComparison.Ordinal)
            ? _balancers.GetOrAdd(address, a => new Lazy<ReplicaBalancer>(() => new ReplicaBalancer(a.Host["_grpc.".Length..], a, services.GetRequiredService<ServiceEndpointResolver>(), apiKey))).Value
            : null;

    public void Dispose()
    {
        foreach (var balancer in _balancers.Values.Where(b => b.IsValueCreated))
        {
            balancer.Value.Dispose();
        }
    }
}

