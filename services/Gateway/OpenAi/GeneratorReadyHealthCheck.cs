using Grpc.Core;
using LlmMesh.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.Gateway.OpenAi;

/// <summary>The gateway is ready when the generator behind it serves a model.</summary>
public sealed class GeneratorReadyHealthCheck(LlmMeshClient mesh) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var info = await mesh.Generator.GetModelInfoAsync(new(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
            return HealthCheckResult.Healthy($"the generator serves {info.BundleVersion}");
        }
        catch (RpcException ex)
        {
            return HealthCheckResult.Unhealthy($"the generator is not ready: {ex.Status.Detail}");
        }
    }
}
