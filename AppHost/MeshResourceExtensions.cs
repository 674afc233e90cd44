using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.AppHost;

public static class MeshResourceExtensions
{
    /// <summary>
    /// Pins a service's h2c gRPC endpoint to its loopback port and gives it what every mesh
    /// service needs: the broker, its own event outbox and the model store, under
    /// <paramref name="dataDirectory"/>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AsMeshService(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<IResourceWithConnectionString> messaging, string dataDirectory) =>
        service
            .AsMeshEndpoint("grpc")
            .WithReference(messaging)
            .WaitFor(messaging)
            .WithEnvironment("Messaging__OutboxDirectory", Path.Combine(dataDirectory, "outbox", service.Resource.Name))
            .WithEnvironment("ModelStore__Path", Path.Combine(dataDirectory, "models"));

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
        var name = service.Resource.Name;
        if (!configuration.GetValue("LlmMesh:RandomPorts", false))
        {
            var port = configuration.GetValue<int?>($"LlmMesh:Ports:{name}")
                ?? throw new InvalidOperationException($"LlmMesh:Ports:{name} is not configured");
            service.WithEndpoint(endpointName, endpoint => endpoint.Port = port);
        }
        return service;
    }

    /// <summary>
    /// Runs a serving service on the backend in LlmMesh:Backends:{name} (Torch, or Onnx: the
    /// bundle's exported graphs, no libtorch); clients see the same contract on either. The mesh's
    /// default model (LlmMesh:DefaultModel, "coco") and how many models it holds at once
    /// (LlmMesh:MaxLoadedModels, 4) are the same for every serving service.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithModelBackend(this IResourceBuilder<ProjectResource> service, string optionsSection)
    {
        var name = service.Resource.Name;
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
