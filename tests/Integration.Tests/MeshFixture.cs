using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// The real AppHost (broker included) started once for the integration tests, on random ports
/// and with its own data folder.
/// </summary>
public class MeshFixture : IAsyncLifetime
{
    // Start-up and the first tiny model; other test hosts train alongside, so it is generous.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(8);

    /// <summary>The generator's max_tokens limit here: streams that last long after a client cancels them.</summary>
    public const int LongStreamTokens = 65536;
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("llmmesh-it-").FullName;
    private readonly List<GrpcChannel> _channels = [];

    public DistributedApplication App { get; private set; } = null!;

    public string DataDirectory => _dataDirectory;

    /// <summary>Key of the dashboard's telemetry API (/api/telemetry), so tests can read traces.</summary>
    public string DashboardApiKey { get; } = Guid.NewGuid().ToString("N");

    public virtual async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        // The serving services run the ONNX backend here: every serving test is also the proof
        // that a swapped backend serves the same contract to unchanged clients.
        App = await StartAsync(_dataDirectory, "Onnx", timeout.Token, DashboardApiKey, builder =>
        {
            Configure(builder);
            builder.Services.AddHostedService(sp => new ConsoleLogRecorder(
                sp.GetRequiredService<ResourceNotificationService>(), sp.GetRequiredService<ResourceLoggerService>(), ConsoleLogs));
            builder.Services.AddHostedService(sp => new HealthReportRecorder(sp.GetRequiredService<ResourceNotificationService>(), HealthReports));
        }, ApiKey, Arguments);
        // The serving services are up but not ready: the store has no model yet.
        foreach (var resource in new[] { "encoder", "generator", "discriminator" })
        {
            await App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.Running, timeout.Token);
        }
        FirstBundle = await TrainTinyModelAsync(seed: 1, timeout.Token);
        foreach (var resource in new[] { "encoder", "generator" })
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
        }
    }

    /// <summary>
    /// Starts the AppHost on random ports over <paramref name="dataDirectory"/> with every serving
    /// service on <paramref name="backend"/>, no automatic training, and waits for the broker,
    /// the tokenizer and the trainer to be healthy.
    /// </summary>
    public static async Task<DistributedApplication> StartAsync(string dataDirectory, string backend, CancellationToken cancellationToken,
        string? dashboardApiKey = null, Action<IDistributedApplicationTestingBuilder>? configure = null, string? apiKey = null, string[]? arguments = null)
    {
        string[] requireApiKey = apiKey is null ? [] : ["--LlmMesh:RequireApiKey=true", $"--Parameters:api-key={apiKey}"];
        string[] more = [.. requireApiKey, .. arguments ?? []];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LlmMesh_AppHost>(
            ["--LlmMesh:RandomPorts=true", $"--LlmMesh:DataDirectory={dataDirectory}", "--LlmMesh:AutoTrainPreset=",
             $"--LlmMesh:Backends:Encoder={backend}", $"--LlmMesh:Backends:Generator={backend}", $"--LlmMesh:Backends:Discriminator={backend}",
             $"--AppHost:DashboardApiKey={dashboardApiKey ?? Guid.NewGuid().ToString("N")}", .. more],
            (options, _) => options.DisableDashboard = dashboardApiKey is null);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        // Long enough streams that a client can leave one long before it would end (cancellation tests).
        builder.CreateResourceBuilder<ProjectResource>("generator").WithEnvironment("Generator__MaxTokens", LongStreamTokens.ToString());
        configure?.Invoke(builder);
        var app = await builder.BuildAsync();
        await app.StartAsync(cancellationToken);
        foreach (var resource in new[] { "messaging", "tokenizer", "trainer" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken);
        }
        return app;
    }

    /// <summary>Every line each resource wrote to its console, from the start.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Resource, string Line)> ConsoleLogs { get; } = new();

    /// <summary>Every distinct health report description each resource showed in the dashboard, from the start.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Resource, string Description)> HealthReports { get; } = new();

    /// <summary>The API key the host's services require (LlmMesh:RequireApiKey); none by default, as for local runs.</summary>
    public virtual string? ApiKey => null;

    /// <summary>More AppHost arguments, for a fixture whose tests need another shape of the mesh.</summary>
    protected virtual string[] Arguments => [];

    /// <summary>Changes to the host before it starts, for a fixture whose tests need other limits.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder)
    {
    }

    /// <summary>The process of a mesh service of this host (found by its model store folder in its environment).</summary>
    public System.Diagnostics.Process ServiceProcess(string executable) =>
        System.Diagnostics.Process.GetProcessesByName(executable).Single(p =>
            File.ReadAllText($"/proc/{p.Id}/environ").Contains(_dataDirectory, StringComparison.Ordinal));

    /// <summary>The tiny bundle trained when the host started; the serving services loaded it.</summary>
    public string FirstBundle { get; private set; } = "";

    /// <summary>
    /// Trains a tiny model (seconds; with a short adversarial phase when asked) through the trainer and
    /// returns its bundle version. 40 steps teach it little more than where captions end; tests that
    /// need words from greedy decoding train longer.
    /// </summary>
    public async Task<string> TrainTinyModelAsync(ulong seed, CancellationToken cancellationToken, long adversarialSteps = 0, long steps = 40)
    {
        var trainer = new LlmMesh.Contracts.V1.Trainer.TrainerClient(Channel("trainer"));
        using var call = trainer.StartRun(new LlmMesh.Contracts.V1.StartRunRequest
        {
            Corpus = "coco",
            Steps = steps,
            BatchSize = 128,
            Seed = seed,
            Hyperparameters = new LlmMesh.Contracts.V1.Hyperparameters
            {
                EmbeddingSize = 32,
                HiddenSize = 48,
                LatentSize = 8,
                CheckpointEverySteps = 1000,
                AdversarialSteps = adversarialSteps,
                LatentHiddenSize = 64,
                TextDiscriminatorEpochs = 1,
                EvaluationSamples = 100,
            },
        }, cancellationToken: cancellationToken);
        await foreach (var progress in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            if (progress.Final is { } final)
            {
                return final.State == LlmMesh.Contracts.V1.RunState.Completed
                    ? final.BundleVersion
                    : throw new InvalidOperationException($"the tiny run ended {final.State}: {final.Error}");
            }
        }
        throw new InvalidOperationException("the tiny run's stream ended without a final message");
    }

    /// <summary>
    /// An ARAE bundle (with a latent GAN, so the discriminator serves it) trained once, served by
    /// the discriminator and the generator when this returns (loaded again if a test trained a
    /// newer bundle since).
    /// </summary>
    public async Task<string> AraeBundleAsync()
    {
        await _araeGate.WaitAsync();
        try
        {
            var discriminator = new LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient(Channel("discriminator"));
            var generator = new LlmMesh.Contracts.V1.Generator.GeneratorClient(Channel("generator"));
            if (_araeBundle is null)
            {
                var version = await TrainTinyModelAsync(seed: 21, CancellationToken.None, adversarialSteps: 200);
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (await TryVersionAsync(() => discriminator.GetModelInfoAsync(new LlmMesh.Contracts.V1.GetModelInfoRequest()).ResponseAsync) != version
                    || await TryVersionAsync(() => generator.GetModelInfoAsync(new LlmMesh.Contracts.V1.GetModelInfoRequest()).ResponseAsync) != version)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the serving services did not load the ARAE bundle");
                    await Task.Delay(200);
                }
                _araeBundle = version;
            }
            var load = new LlmMesh.Contracts.V1.LoadModelRequest { BundleVersion = _araeBundle };
            if (await TryVersionAsync(() => discriminator.GetModelInfoAsync(new LlmMesh.Contracts.V1.GetModelInfoRequest()).ResponseAsync) != _araeBundle)
            {
                await discriminator.LoadModelAsync(load);
            }
            if (await TryVersionAsync(() => generator.GetModelInfoAsync(new LlmMesh.Contracts.V1.GetModelInfoRequest()).ResponseAsync) != _araeBundle)
            {
                await generator.LoadModelAsync(load);
            }
            return _araeBundle;
        }
        finally
        {
            _araeGate.Release();
        }
    }

    private readonly SemaphoreSlim _araeGate = new(1, 1);
    private string? _araeBundle;

    private static async Task<string?> TryVersionAsync(Func<Task<LlmMesh.Contracts.V1.ModelInfo>> call)
    {
        try
        {
            return (await call()).BundleVersion;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
        {
            return null;
        }
    }

    /// <summary>A client of the dashboard's telemetry API (/api/telemetry).</summary>
    public HttpClient DashboardClient()
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var dashboard = model.Resources.OfType<IResourceWithEndpoints>().Single(r => r.Name == "aspire-dashboard");
        var endpoint = dashboard.Annotations.OfType<EndpointAnnotation>().First(e => e.UriScheme == "http" && e.AllocatedEndpoint is not null);
        var http = new HttpClient { BaseAddress = new Uri(endpoint.AllocatedEndpoint!.UriString) };
        http.DefaultRequestHeaders.Add("x-api-key", DashboardApiKey);
        return http;
    }

    public GrpcChannel Channel(string resource)
    {
        var channel = GrpcChannel.ForAddress(App.GetEndpoint(resource, "grpc"), ApiKey is { } key
            ? new GrpcChannelOptions { HttpHandler = new LlmMesh.Client.LlmMeshApiKey.Handler(() => key) { InnerHandler = new SocketsHttpHandler() } }
            : new GrpcChannelOptions());
        _channels.Add(channel);
        return channel;
    }

    public virtual async Task DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        await App.StopAsync();
        await App.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class MeshCollection : ICollectionFixture<MeshFixture>
{
    public const string Name = "mesh";
}

/// <summary>Follows the console of every resource of the host from the start (the logger service keeps no backlog unwatched).</summary>
internal sealed class ConsoleLogRecorder(
    ResourceNotificationService notifications, ResourceLoggerService logs, System.Collections.Concurrent.ConcurrentQueue<(string Resource, string Line)> lines)
    : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Logs are kept per instance (a project resource's instance id differs from its name).
        var followed = new HashSet<string>();
        var followers = new List<Task>();
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken))
            {
                if (followed.Add(update.ResourceId))
                {
                    followers.Add(FollowAsync(update.Resource.Name, update.ResourceId, stoppingToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(followers);
    }

    private async Task FollowAsync(string resource, string instance, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var batch in logs.WatchAsync(instance).WithCancellation(stoppingToken))
            {
                foreach (var line in batch)
                {
                    lines.Enqueue((resource, line.Content));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Records what the dashboard shows as each resource's health (the AppHost's checks of it).</summary>
internal sealed class HealthReportRecorder(
    ResourceNotificationService notifications, System.Collections.Concurrent.ConcurrentQueue<(string Resource, string Description)> reports)
    : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seen = new HashSet<(string, string)>();
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken))
            {
                foreach (var report in update.Snapshot.HealthReports)
                {
                    if (report.Description is { Length: > 0 } description && seen.Add((update.Resource.Name, description)))
                    {
                        reports.Enqueue((update.Resource.Name, description));
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
