using LlmMesh.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class GrpcClientExtensions
{
    /// <summary>
    /// Registers a gRPC client for another mesh service, found through service discovery at
    /// <c>http://_grpc.{serviceName}</c> (its h2c endpoint). Resilience is gRPC's own: unary calls
    /// and streams that have not yet received a response are retried on UNAVAILABLE. No HTTP
    /// timeouts: long streams are bounded by their deadlines, which propagate from the incoming
    /// call together with its cancellation.
    /// </summary>
    public static IHttpClientBuilder AddMeshGrpcClient<TClient>(this IHostApplicationBuilder builder, string serviceName)
        where TClient : class
    {
        var address = builder.Configuration[$"GrpcClients:{serviceName}:Address"] ?? $"http://_grpc.{serviceName}";
        return builder.Services
            .AddGrpcClient<TClient>(o => o.Address = new Uri(address))
            .ConfigureChannel(channel => LlmMeshChannelDefaults.Apply(channel))
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true);
    }
}
