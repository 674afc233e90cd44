using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.Serving.Hosting;

/// <summary>Ready once a model is loaded and warmed up; until then it says what it waits for, and the trainer's progress.</summary>
public sealed class ModelReadyHealthCheck<TModel>(ModelHost<TModel> host, TrainingProgress training) : IHealthCheck where TModel : IServingModel
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(host.IsReady ? HealthCheckResult.Healthy(host.Status) : HealthCheckResult.Unhealthy(training.WaitingMessage(host.Status)));
}
