using Grpc.Core;
using LlmMesh.ModelStore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>
/// Loads the default model at start (retrying while the tokenizer is unavailable or the model does
/// not exist yet), then keeps following it as a fallback to ModelPublished events, which usually
/// arrive first. Other models load on their first request and follow their catalog entry on each.
/// </summary>
public sealed class ModelHostStartup<TModel>(ModelHost<TModel> host, ILogger<ModelHostStartup<TModel>> logger) : BackgroundService
    where TModel : IServingModel
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await host.FollowAsync(host.DefaultModel, stoppingToken);
            }
            catch (ModelRefusedException)
            {
                continue; // logged by the host; the next pass resolves the model without that version
            }
            catch (MeshException ex) when (ex.Kind is MeshErrorKind.NotFound or MeshErrorKind.FailedPrecondition)
            {
                host.ReportStatus($"waiting for model '{host.DefaultModel}': {ex.Message}");
            }
            catch (Exception ex) when (ex is RpcException or HttpRequestException && !stoppingToken.IsCancellationRequested)
            {
                host.ReportStatus($"cannot check model '{host.DefaultModel}' with the tokenizer yet: {ex.Message}");
                logger.LogWarning("Cannot load model {Model} yet: {Reason}", host.DefaultModel, ex.Message);
            }
            catch (Exception ex) when (ex is BundleException or IOException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Cannot load model {Model}: {Reason}", host.DefaultModel, ex.Message);
            }
            await Task.Delay(host.IsReady ? PollInterval : RetryInterval, stoppingToken);
        }
    }
}
