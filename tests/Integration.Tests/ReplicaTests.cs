using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>A host whose generator runs as three replicas ("generator", "generator-2", "generator-3") over a model store on S3.</summary>
public sealed class ReplicaHostFixture : MeshFixture
{
    public static readonly string[] Generators = ["generator", "generator-2", "generator-3"];
    private MotoServer? _bucket;

    /// <summary>
    /// Three generators, and the model store on S3 (a private moto_server): every resource keeps its
    /// own folder, as on machines of their own, so every bundle a replica serves came through the bucket.
    /// </summary>
    protected override string[] Arguments =>
    [
        "--LlmMesh:Replicas:Generator=3",
        "--LlmMesh:ModelStore:Backend=S3",
        $"--LlmMesh:ModelStore:S3:ServiceUrl={_bucket!.ServiceUrl}",
        $"--LlmMesh:ModelStore:S3:Bucket={_bucket.Bucket}",
        "--LlmMesh:ModelStore:S3:Prefix=mesh/",
        $"--Parameters:s3-access-key={MotoServer.AccessKey}",
        $"--Parameters:s3-secret-key={MotoServer.SecretKey}",
    ];

    public MotoServer Bucket => _bucket!;

    public override async Task InitializeAsync()
    {
        _bucket = await MotoServer.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _bucket!.DisposeAsync();
    }

    /// <summary>The model store folder of one resource (LlmMesh:DataDirectory/model-cache/{resource}).</summary>
    public string StoreOf(string resource) => Path.Combine(DataDirectory, "model-cache", resource);

    /// <summary>Long streams on every replica, as on the first (MeshFixture gives it LongStreamTokens).</summary>
    protected override void Configure(IDistributedApplicationTestingBuilder builder)
    {
        foreach (var replica in Generators[1..])
        {
            builder.CreateResourceBuilder<ProjectResource>(replica).WithEnvironment("Generator__MaxTokens", LongStreamTokens.ToString());
        }
    }

    /// <summary>The process of one replica (its LlmMesh:Instance names it).</summary>
    public Process ReplicaProcess(string instance) =>
        Process.GetProcessesByName("LlmMesh.Generator").Single(p =>
        {
            var environment = File.ReadAllText($"/proc/{p.Id}/environ");
            return environment.Contains(DataDirectory, StringComparison.Ordinal) && environment.Contains($"LlmMesh__Instance={instance}\0", StringComparison.Ordinal);
        });
}

/// <summary>
/// Replicas under the AppHost: each call through the gateway goes to one of them in turn, every
/// replica serves a newly published bundle, and a replica killed under load fails only its own
/// streams and leaves the rotation.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class ReplicaTests(ReplicaHostFixture host, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ReplicaHostFixture>
{
    private const int Calls = 30;

    [Fact]
    public async Task Calls_spread_over_every_replica_a_new_bundle_reaches_all_and_a_killed_one_fails_only_its_own_streams()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        foreach (var replica in ReplicaHostFixture.Generators.Append("gateway"))
        {
            await host.App.ResourceNotifications.WaitForResourceHealthyAsync(replica, timeout.Token);
        }
        using var gateway = new HttpClient { BaseAddress = host.App.GetEndpoint("gateway", "http"), Timeout = TimeSpan.FromMinutes(2) };

        // Each replica reports its own name.
        foreach (var replica in ReplicaHostFixture.Generators)
        {
            var info = await new Generator.GeneratorClient(host.Channel(replica)).GetModelInfoAsync(new GetModelInfoRequest());
            Assert.Equal(replica, info.Instance);
        }

        var balance = await CallsPerReplicaAsync(gateway, Calls);
        Assert.Equal(ReplicaHostFixture.Generators.Order(), balance.Keys.Order());
        output.WriteLine($"calls per replica: {string.Join(", ", balance.OrderBy(b => b.Key).Select(b => $"{b.Key} {b.Value}"))}");
        Assert.All(balance.Values, calls => Assert.True(calls >= 5, string.Join(", ", balance.Select(b => $"{b.Key}: {b.Value}"))));

        // A published bundle: every replica serves it within seconds.
        var clock = Stopwatch.StartNew();
        var bundle = await host.TrainTinyModelAsync(seed: 5, timeout.Token);
        var published = clock.Elapsed;
        foreach (var replica in ReplicaHostFixture.Generators)
        {
            var client = new Generator.GeneratorClient(host.Channel(replica));
            while ((await client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: timeout.Token)).BundleVersion != bundle)
            {
                await Task.Delay(100, timeout.Token);
            }
        }
        output.WriteLine($"all replicas served the new bundle {(clock.Elapsed - published).TotalSeconds:F2} s after the run returned");
        Assert.True(clock.Elapsed - published < TimeSpan.FromSeconds(15), $"all replicas served {bundle} {clock.Elapsed - published} after it was published");
        // It came through the bucket: the trainer uploaded it (manifest included) and each replica
        // holds a verified copy in its own folder; there is no shared folder.
        using (var s3 = host.Bucket.CreateClient())
        {
            var uploaded = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = host.Bucket.Bucket, Prefix = $"mesh/bundles/{bundle}/" }, timeout.Token);
            Assert.Contains(uploaded.S3Objects, o => o.Key.EndsWith("/manifest.json", StringComparison.Ordinal));
        }
        foreach (var resource in ReplicaHostFixture.Generators)
        {
            Assert.True(File.Exists(Path.Combine(host.StoreOf(resource), "bundles", bundle, "manifest.json")), $"{resource} has no copy of {bundle}");
        }
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "models")));

        // Kill one replica while every replica streams: only its streams fail.
        var streams = Enumerable.Range(0, 9).Select(_ => LongStreamAsync(gateway, timeout.Token)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2), timeout.Token);
        host.ReplicaProcess("generator-3").Kill();
        var outcomes = await Task.WhenAll(streams);
        output.WriteLine($"streams: {string.Join(", ", outcomes.Select(o => $"{o.Instance}{(o.Failed ? " failed" : "")}"))}");
        Assert.All(outcomes, o => Assert.Equal(o.Instance == "generator-3", o.Failed));
        output.WriteLine($"error of a failed stream: {outcomes.First(o => o.Failed).Error}");
        Assert.All(outcomes.Where(o => o.Failed), o => Assert.Contains("generator replica 'generator-3' became unavailable", o.Error));
        Assert.Contains(outcomes, o => o.Instance == "generator-3");

        // The dead replica is out of the rotation: the next calls all succeed on the other two.
        var after = await CallsPerReplicaAsync(gateway, Calls);
        output.WriteLine($"after the kill: {string.Join(", ", after.OrderBy(b => b.Key).Select(b => $"{b.Key} {b.Value}"))}");
        Assert.Equal(Calls, after.Values.Sum());
        Assert.DoesNotContain("generator-3", after.Keys);
        Assert.All(after.Values, calls => Assert.True(calls >= 10, string.Join(", ", after.Select(b => $"{b.Key}: {b.Value}"))));
    }

    /// <summary>Short completions through the gateway, one after another; the replica of each from x-llmmesh-instance. Every call must succeed.</summary>
    private static async Task<Dictionary<string, int>> CallsPerReplicaAsync(HttpClient gateway, int calls)
    {
        var perReplica = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            using var response = await gateway.PostAsJsonAsync("/v1/completions", new { prompt = "a dog", max_tokens = 3, seed = i });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var instance = response.Headers.GetValues("x-llmmesh-instance").Single();
            perReplica[instance] = perReplica.GetValueOrDefault(instance) + 1;
        }
        return perReplica;
    }

    private sealed record StreamOutcome(string Instance, bool Failed, string Error);

    /// <summary>A long streamed completion: which replica served it and whether it ended in an error event.</summary>
    private static async Task<StreamOutcome> LongStreamAsync(HttpClient gateway, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { prompt = "a dog", max_tokens = 8000, ignore_eos = true, stream = true }),
        };
        using var response = await gateway.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.True(response.IsSuccessStatusCode);
        var instance = response.Headers.GetValues("x-llmmesh-instance").Single();
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var error = body.Split('\n').FirstOrDefault(line => line.Contains("\"error\"", StringComparison.Ordinal)) ?? "";
        return new StreamOutcome(instance, error.Length > 0, error);
    }
}
