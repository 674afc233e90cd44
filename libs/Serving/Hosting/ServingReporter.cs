using LlmMesh.ModelStore;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Serving.Hosting;

/// <summary>
/// Tells the model store which versions this process holds (see <see cref="ServingRegistry"/>):
/// on every change and as a heartbeat, withdrawn at shutdown. Deleting a version checks it.
/// </summary>
public sealed class ServingReporter<TModel>(ModelHost<TModel> host, ServingRegistry registry, IHostEnvironment environment) : BackgroundService
    where TModel : IServingModel
{
    private readonly string _service = ServiceName(environment);
    private readonly string _instance = $"{ServiceName(environment)}-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";

    /// <summary>"generator" for LlmMesh.Generator.</summary>
    private static string ServiceName(IHostEnvironment environment) =>
        environment.ApplicationName.Replace("LlmMesh.", "", StringComparison.Ordinal).ToLowerInvariant();
    private readonly SemaphoreSlim _changed = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        host.ResidentChanged += Signal;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                registry.Report(_service, _instance, host.Resident().Select(m => m.Loaded.Version).ToArray());
                await _changed.WaitAsync(ServingRegistry.Heartbeat, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            host.ResidentChanged -= Signal;
            registry.Withdraw(_instance);
        }
    }

    private void Signal()
    {
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }
}
