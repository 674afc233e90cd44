using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.Tokenizer.Vocabularies;

/// <summary>Ready once the active vocabulary is loaded and warmed up.</summary>
public sealed class VocabularyReadyHealthCheck(VocabularyRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(registry.ActiveVersion is null
            ? HealthCheckResult.Unhealthy(registry.Status)
            : HealthCheckResult.Healthy(registry.Status));
}
