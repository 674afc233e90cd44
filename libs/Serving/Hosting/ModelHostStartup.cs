using Grpc.Core;
using LlmMesh.ModelStore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>
/// Loads the newest bundle at start (retrying while the tokenizer is unavailable), then keeps
/// watching the store as a fallback to ModelPublished events, which usually arrive first.
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
            var latest = host.Store.ListVersions().LastOrDefault(v => !host.WasRefused(v));
            if (latest is null)
            {
                host.ReportStatus("waiting for the first model: the model store has no bundle yet");
            }
            else if (host.Current is null || string.CompareOrdinal(latest, host.Current.Version) > 0)
            {
                try
                {
                    await host.LoadAsync(latest, stoppingToken);
                }
                catch (ModelRefusedException)
                {
                    continue; // an older bundle may still be usable
                }
                catch (Exception ex) when (ex is RpcException or HttpRequestException && !stoppingToken.IsCancellationRequested)
                {
                    host.ReportStatus($"cannot check bundle {latest} with the tokenizer yet: {ex.Message}");
                    logger.LogWarning("Cannot load bundle {Version} yet: {Reason}", latest, ex.Message);
                    await Task.Delay(RetryInterval, stoppingToken);
                    continue;
                }
                catch (Exception ex) when (ex is BundleException or IOException && !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning("Cannot load bundle {Version}: {Reason}", latest, ex.Message);
                }
            }
            await Task.Delay(host.IsReady ? PollInterval : RetryInterval, stoppingToken);
        }
    }
}
