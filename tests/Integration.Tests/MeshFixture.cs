using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
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

    public async Task InitializeAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LlmMesh_AppHost>(
            ["--LlmMesh:RandomPorts=true", $"--LlmMesh:DataDirectory={_dataDirectory}", "--LlmMesh:AutoTrainPreset="],
            (options, _) => options.DisableDashboard = true);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));

        App = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(StartTimeout);
        await App.StartAsync(timeout.Token);
        foreach (var resource in new[] { "messaging", "tokenizer", "trainer" })
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
        }
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
