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
public sealed class MeshFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("llmmesh-it-").FullName;
    private readonly List<GrpcChannel> _channels = [];

    public DistributedApplication App { get; private set; } = null!;

    public string DataDirectory => _dataDirectory;

    /// <summary>Key of the dashboard's telemetry API (/api/telemetry), so tests can read traces.</summary>
    public string DashboardApiKey { get; } = Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LlmMesh_AppHost>(
            // The generator runs the ONNX backend here: every generation test is also the proof
            // that a swapped backend serves the same contract to unchanged clients.
            ["--LlmMesh:RandomPorts=true", $"--LlmMesh:DataDirectory={_dataDirectory}", "--LlmMesh:AutoTrainPreset=",
             "--LlmMesh:Backends:Generator=Onnx",
             $"--AppHost:DashboardApiKey={DashboardApiKey}"],
            (options, _) => options.DisableDashboard = false);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));

        App = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(StartTimeout);
        await App.StartAsync(timeout.Token);
        foreach (var resource in new[] { "messaging", "tokenizer", "trainer" })
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
        }
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

    /// <summary>The process of a mesh service of this host (found by its model store folder in its environment).</summary>
    public System.Diagnostics.Process ServiceProcess(string executable) =>
        System.Diagnostics.Process.GetProcessesByName(executable).Single(p =>
            File.ReadAllText($"/proc/{p.Id}/environ").Contains(_dataDirectory, StringComparison.Ordinal));

    /// <summary>The tiny bundle trained when the host started; the serving services loaded it.</summary>
    public string FirstBundle { get; private set; } = "";

    /// <summary>Trains a tiny model (seconds; with a short adversarial phase when asked) through the trainer and returns its bundle version.</summary>
    public async Task<string> TrainTinyModelAsync(ulong seed, CancellationToken cancellationToken, long adversarialSteps = 0)
    {
        var trainer = new LlmMesh.Contracts.V1.Trainer.TrainerClient(Channel("trainer"));
        using var call = trainer.StartRun(new LlmMesh.Contracts.V1.StartRunRequest
        {
            Corpus = "coco",
            Steps = 40,
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

    public GrpcChannel Channel(string resource)
    {
        var channel = GrpcChannel.ForAddress(App.GetEndpoint(resource, "grpc"));
        _channels.Add(channel);
        return channel;
    }

    public async Task DisposeAsync()
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
