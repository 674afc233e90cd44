using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>
/// Tells the model store which versions this process holds (see <see cref="ServingRegistry"/>):
/// on every change and as a heartbeat, withdrawn at shutdown. Deleting a version checks it.
/// </summary>
public sealed class ServingReporter<TModel>(
    ModelHost<TModel> host, ServingRegistry registry, IModelStoreMirror mirror, IHostEnvironment environment, ILogger<ServingReporter<TModel>> logger) : BackgroundService
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
                await ShareAsync(stoppingToken);
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
            using var withdrawing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ShareAsync(withdrawing.Token);
        }
    }

    /// <summary>The report in the shared store (S3); a report that cannot be shared expires there like a dead process's.</summary>
    private async Task ShareAsync(CancellationToken cancellationToken)
    {
        try
        {
            await mirror.PushFileAsync(ServingRegistry.RelativePathOf(_instance), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Cannot share this process's serving report: {Reason}", ex.Message);
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
