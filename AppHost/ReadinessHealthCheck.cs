using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmMesh.AppHost;

/// <summary>
/// A service's readiness as the dashboard shows it: its /health status code, with the body it
/// answered as the description (e.g. "waiting for the first model: run 1a2b in phase vae, epoch
/// 3/10"), where Aspire's plain HTTP check would only say that the request failed.
/// </summary>
public sealed class ReadinessHealthCheck(Func<Uri> healthUri) : IHealthCheck
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await Http.GetAsync(healthUri(), cancellationToken);
            var body = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy(body)
                : HealthCheckResult.Unhealthy(body.Length > 0 ? body : $"/health answered {(int)response.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"/health did not answer: {ex.Message}");
        }
    }
}
