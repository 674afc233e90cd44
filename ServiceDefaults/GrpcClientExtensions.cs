using LlmMesh.Client;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class GrpcClientExtensions
{
    /// <summary>
    /// Registers a gRPC client for another mesh service, found through service discovery at
    /// <c>http://_grpc.{serviceName}</c> (its h2c endpoint). Resilience is gRPC's own: unary calls
    /// and streams that have not yet received a response are retried on UNAVAILABLE. No HTTP
    /// timeouts: long streams are bounded by their deadlines, which propagate from the incoming
    /// call together with its cancellation. HTTP/2 keepalive pings find a dead connection on a
    /// quiet stream. When the service cannot be reached the caller's status names it; a unary
    /// call waits at most GrpcClients:{serviceName}:CallTimeout for an answer.
    /// </summary>
    /// <param name="callTimeout">The unary call bound; longer for a service that itself waits on another (5 s by default).</param>
    public static IHttpClientBuilder AddMeshGrpcClient<TClient>(
        this IHostApplicationBuilder builder, string serviceName, string? clientName = null, TimeSpan? callTimeout = null)
        where TClient : class
    {
        var address = builder.Configuration[$"GrpcClients:{serviceName}:Address"] ?? $"http://_grpc.{serviceName}";
        var apiKey = builder.Configuration[LlmMeshApiKey.ConfigurationKey];
        var timeout = builder.Configuration.GetValue($"GrpcClients:{serviceName}:CallTimeout", callTimeout ?? TimeSpan.FromSeconds(5));
        return builder.Services
            .AddGrpcClient<TClient>(clientName ?? typeof(TClient).Name, o => o.Address = new Uri(address))
            .ConfigurePrimaryHttpMessageHandler(LlmMeshChannelDefaults.CreateHandler)
            .ConfigureChannel(channel => LlmMeshChannelDefaults.Apply(channel))
            .AddHttpMessageHandler(() => new LlmMeshApiKey.Handler(() => apiKey))
            .AddReplicaBalancing(_ => new Uri(address), _ => () => apiKey)
            .AddInterceptor(sp => new DependencyStatusInterceptor(serviceName, timeout, sp.GetService<IHttpContextAccessor>()))
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true);
    }
}
