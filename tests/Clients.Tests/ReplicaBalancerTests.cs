using System.Net;
using LlmMesh.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;

namespace LlmMesh.Clients.Tests;

/// <summary>
/// On Kubernetes a service's address is its headless Service's name, which resolves to one address
/// per ready pod: each address is a replica of its own, and the rotation follows the pods.
/// </summary>
public sealed class ReplicaBalancerTests : IAsyncDisposable
{
    private const string Headless = "generator.llmmesh.svc.cluster.local";
    private static readonly Uri Discovered = new("http://_grpc.generator");
    private readonly ServiceProvider _services;
    private volatile IPAddress[] _pods = [IPAddress.Parse("10.1.0.11"), IPAddress.Parse("10.1.0.12"), IPAddress.Parse("10.1.0.13")];

    public ReplicaBalancerTests()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:generator:grpc:0"] = $"http://{Headless}:7103",
            ["services:encoder:grpc:0"] = "http://localhost:7102",
            ["services:encoder:grpc:1"] = "http://127.0.0.1:7202",
        }).Build();
        _services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddServiceDiscovery().BuildServiceProvider();
    }

    [Fact]
    public async Task A_headless_service_name_is_one_replica_per_pod_and_follows_the_pods()
    {
        using var balancer = Balancer(Discovered);
        await WaitForAsync(balancer, 3);

        Assert.Equal(["http://10.1.0.11:7103/", "http://10.1.0.12:7103/", "http://10.1.0.13:7103/"], balancer.Replicas.Select(r => r.ToString()).Order());
        var chosen = Enumerable.Range(0, 9).Select(_ => balancer.Choose(new Uri("http://_grpc.generator/llmmesh.v1.Generator/Generate"), chosenBefore: false)!.Host).ToList();
        Assert.All(chosen.GroupBy(h => h), calls => Assert.Equal(3, calls.Count()));

        // A pod leaves (scaled in, or not ready: a headless Service lists ready pods only), another arrives.
        _pods = [IPAddress.Parse("10.1.0.12"), IPAddress.Parse("10.1.0.13"), IPAddress.Parse("fd00::14")];
        await WaitForAsync(balancer, 3, r => r.Any(u => u.Host == "[fd00::14]"));
        Assert.Equal(["10.1.0.12", "10.1.0.13", "[fd00::14]"], balancer.Replicas.Select(r => r.Host).Order());
        Assert.DoesNotContain(Enumerable.Range(0, 6).Select(_ => balancer.Choose(new Uri("http://_grpc.generator/x"), false)!.Host), h => h == "10.1.0.11");
    }

    [Fact]
    public async Task A_pod_whose_health_is_not_serving_leaves_the_rotation_until_it_serves_again()
    {
        var notServing = "10.1.0.12";
        using var balancer = Balancer(Discovered, host => host != Volatile.Read(ref notServing));
        await WaitForAsync(balancer, 3, _ => balancer.ToString().Contains("10.1.0.12:7103 down", StringComparison.Ordinal));

        var chosen = Enumerable.Range(0, 8).Select(_ => balancer.Choose(new Uri("http://_grpc.generator/x"), chosenBefore: false)!.Host).ToList();
        Assert.Equal(["10.1.0.11", "10.1.0.13"], chosen.Distinct().Order());
        Assert.All(chosen.GroupBy(h => h), calls => Assert.Equal(4, calls.Count()));

        Volatile.Write(ref notServing, "none");
        await WaitForAsync(balancer, 3, _ => balancer.ToString().Contains("10.1.0.12:7103 up", StringComparison.Ordinal));
        Assert.Contains(Enumerable.Range(0, 3).Select(_ => balancer.Choose(new Uri("http://_grpc.generator/x"), false)!.Host), h => h == "10.1.0.12");
    }

    [Fact]
    public async Task Loopback_names_and_literal_addresses_stand_for_themselves()
    {
        using var balancer = Balancer(new Uri("http://_grpc.encoder"));
        await WaitForAsync(balancer, 2);

        Assert.Equal(["http://127.0.0.1:7202/", "http://localhost:7102/"], balancer.Replicas.Select(r => r.ToString()).Order());
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    // Health probes are answered in process (every replica SERVING unless told otherwise): the fake
    // pod addresses are unreachable, and which of them a real probe had already failed when a call
    // was chosen would be timing luck.
    private ReplicaBalancer Balancer(Uri discovered, Func<string, bool>? serving = null) => new(discovered.Host["_grpc.".Length..], discovered, _services.GetRequiredService<ServiceEndpointResolver>(), () => null,
        (name, _) => Task.FromResult(name == Headless ? _pods : throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound)),
        new HealthProbes(serving ?? (_ => true)));

    /// <summary>grpc.health.v1/Check: one length-prefixed HealthCheckResponse { status: SERVING (1) or NOT_SERVING (2) }.</summary>
    private sealed class HealthProbes(Func<string, bool> serving) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new ByteArrayContent([0, 0, 0, 0, 2, 0x08, serving(request.RequestUri!.Host) ? (byte)1 : (byte)2]),
            });
    }

    private static async Task WaitForAsync(ReplicaBalancer balancer, int count, Func<IReadOnlyList<Uri>, bool>? also = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (balancer.Replicas.Count != count || also?.Invoke(balancer.Replicas) == false)
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
