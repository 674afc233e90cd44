using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.AppHost;

public static class MeshResourceExtensions
{
    /// <summary>
    /// Pins a service's h2c gRPC endpoint to its loopback port and gives it what every mesh
    /// service needs: the broker, its own event outbox under <paramref name="dataDirectory"/>, and
    /// the model store.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AsMeshService(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<IResourceWithConnectionString> messaging, string dataDirectory, ModelStorage storage) =>
        storage.ApplyTo(service
            .AsMeshEndpoint("grpc")
            .WithReference(messaging)
            .WaitFor(messaging)
            .WithEnvironment("Messaging__OutboxDirectory", Path.Combine(dataDirectory, "outbox", service.Resource.Name)));

    /// <summary>
    /// Pins <paramref name="endpointName"/> to the resource's loopback port (LlmMesh:Ports:{name},
    /// random when LlmMesh:RandomPorts is true, as in integration tests) and checks readiness on
    /// its HTTP endpoint.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AsMeshEndpoint(this IResourceBuilder<ProjectResource> service, string endpointName) =>
        service
            .WithPinnedPort(endpointName)
            .WithMeshApiKey()
            // Services otherwise wait ~10 s at shutdown for a dashboard that is already gone.
            .WithEnvironment("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
            // glibc gives each thread that mallocs its own arena (up to 8 per core); their
            // fragments kept idle services' native memory growing for minutes (docs/reliability.md).
            .WithEnvironment("MALLOC_ARENA_MAX", "2")
            .WithReadinessCheck("http");

    /// <summary>Readiness from the service's /health on <paramref name="endpointName"/>, its message shown in the dashboard.</summary>
    private static IResourceBuilder<ProjectResource> WithReadinessCheck(this IResourceBuilder<ProjectResource> service, string endpointName)
    {
        var endpoint = service.GetEndpoint(endpointName);
        var name = $"{service.Resource.Name}_ready";
        service.ApplicationBuilder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration(name, _ => new ReadinessHealthCheck(() => new Uri(new Uri(endpoint.Url), "/health")), failureStatus: null, tags: null));
        return service.WithHealthCheck(name);
    }

    /// <summary>
    /// The API key every service requires when LlmMesh:RequireApiKey is true (for endpoints exposed
    /// beyond this machine): a secret parameter, generated once per deployment and kept with the
    /// AppHost's user secrets; null (no key, the default for local runs) otherwise.
    /// </summary>
    public static IResourceBuilder<ParameterResource>? AddMeshApiKey(this IDistributedApplicationBuilder builder) =>
        builder.Configuration.GetValue("LlmMesh:RequireApiKey", false)
            ? builder.AddParameter(ApiKeyParameter, new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true, persist: true)
            : null;

    private const string ApiKeyParameter = "api-key";

    private static IResourceBuilder<ProjectResource> WithMeshApiKey(this IResourceBuilder<ProjectResource> service) =>
        service.ApplicationBuilder.Resources.OfType<ParameterResource>().SingleOrDefault(p => p.Name == ApiKeyParameter) is { } key
            ? service.WithEnvironment(context => context.EnvironmentVariables["LlmMesh__ApiKey"] = key)
            : service;

    private static IResourceBuilder<ProjectResource> WithPinnedPort(this IResourceBuilder<ProjectResource> service, string endpointName)
    {
        var configuration = service.ApplicationBuilder.Configuration;
        var (name, index) = Replica.Of(service.Resource.Name);
        if (!configuration.GetValue("LlmMesh:RandomPorts", false))
        {
            var port = configuration.GetValue<int?>($"LlmMesh:Ports:{name}")
                ?? throw new InvalidOperationException($"LlmMesh:Ports:{name} is not configured");
            service.WithEndpoint(endpointName, endpoint => endpoint.Port = port + Replica.PortStep * (index - 1));
        }
        return service;
    }

    /// <summary>
    /// LlmMesh:Replicas:{setting} processes of a service (1 to 16, default 1), each a resource of its
    /// own: "generator", "generator-2", "generator-3"... on ports LlmMesh:Ports:generator + 100 × (n - 1)
    /// (7103, 7203, 7303), each with its outbox and its name as LlmMesh:Instance.
    /// </summary>
    public static IReadOnlyList<IResourceBuilder<ProjectResource>> AddReplicas(
        this IDistributedApplicationBuilder builder, string service, string setting, Func<string, IResourceBuilder<ProjectResource>> add)
    {
        var count = builder.Configuration.GetValue($"LlmMesh:Replicas:{setting}", 1);
        if (count is < 1 or > Replica.MaxReplicas)
        {
            throw new InvalidOperationException($"LlmMesh:Replicas:{setting} is {count}; it must be between 1 and {Replica.MaxReplicas}");
        }
        return Enumerable.Range(1, count)
            .Select(index => Replica.Name(service, index))
            .Select(name => add(name).WithEnvironment("LlmMesh__Instance", name))
            .ToArray();
    }

    /// <summary>
    /// Service discovery of every replica under the first one's name (services:generator:grpc:0, 1, 2...):
    /// the client's "http://_grpc.generator" then resolves to all of them and balances each call.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReplicaReferences(
        this IResourceBuilder<ProjectResource> client, IReadOnlyList<IResourceBuilder<ProjectResource>> replicas)
    {
        client.WithReference(replicas[0]);
        var service = replicas[0].Resource.Name;
        for (var i = 1; i < replicas.Count; i++)
        {
            client.WithEnvironment($"services__{service}__grpc__{i}", replicas[i].GetEndpoint("grpc"));
        }
        return client;
    }

    /// <summary>
    /// Runs a serving service on the backend in LlmMesh:Backends:{name} (Torch, or Onnx: the
    /// bundle's exported graphs, no libtorch); clients see the same contract on either. The mesh's
    /// default model (LlmMesh:DefaultModel, "coco") and how many models it holds at once
    /// (LlmMesh:MaxLoadedModels, 4) are the same for every serving service.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithModelBackend(this IResourceBuilder<ProjectResource> service, string optionsSection)
    {
        var name = Replica.Of(service.Resource.Name).Service;
        var backend = service.ApplicationBuilder.Configuration[$"LlmMesh:Backends:{name}"] ?? "Onnx";
        if (!backend.Equals("Torch", StringComparison.OrdinalIgnoreCase) && !backend.Equals("Onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"LlmMesh:Backends:{name} is '{backend}'; use Torch or Onnx");
        }
        var configuration = service.ApplicationBuilder.Configuration;
        return service
            .WithEnvironment($"{optionsSection}__Backend", backend)
            .WithEnvironment("Serving__DefaultModel", configuration["LlmMesh:DefaultModel"] ?? "coco")
            .WithEnvironment("Serving__MaxLoadedModels", configuration["LlmMesh:MaxLoadedModels"] ?? "4");
    }
}

/// <summary>Names and ports of a service's replicas: the first keeps the service's name, the n-th is "{service}-{n}".</summary>
internal static partial class Replica
{
    public const int MaxReplicas = 16;
    public const int PortStep = 100;

    public static string Name(string service, int index) => index == 1 ? service : $"{service}-{index}";

    public static (string Service, int Index) Of(string resourceName) =>
        Suffix().Match(resourceName) is { Success: true } match
            ? (match.Groups["service"].Value, int.Parse(match.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture))
            : (resourceName, 1);

    [System.Text.RegularExpressions.GeneratedRegex("^(?<service>[a-z]+)-(?<index>[2-9]|1[0-6])$")]
    private static partial System.Text.RegularExpressions.Regex Suffix();
}
