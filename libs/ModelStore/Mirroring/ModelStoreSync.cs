using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMesh.ModelStore.Mirroring;

/// <summary>
/// On the S3 backend: pulls once before the process's other services start (a new replica serves
/// the current model without waiting for an event), then every PollInterval as the safety net
/// behind ModelPublished. Failures are logged once per outage; the folder keeps what it has.
/// </summary>
public sealed class ModelStoreSync(IModelStoreMirror mirror, IOptions<ModelStoreOptions> options, ILogger<ModelStoreSync> logger) : BackgroundService
{
    private static readonly TimeSpan FirstPullLimit = TimeSpan.FromSeconds(60);
    private bool _failing;

    private bool Enabled => options.Value.Backend == ModelStoreBackend.S3;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(FirstPullLimit);
            await PullAsync(limit.Token, cancellationToken);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.Value.S3.PollInterval, stoppingToken);
            await PullAsync(stoppingToken, stoppingToken);
        }
    }

    private async Task PullAsync(CancellationToken cancellationToken, CancellationToken stopping)
    {
        try
        {
            await mirror.PullAsync(cancellationToken);
            if (_failing)
            {
                logger.LogInformation("The model store's bucket answers again");
            }
            _failing = false;
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            if (!_failing)
            {
                logger.LogWarning(ex, "Cannot read the model store's bucket (s3://{Bucket}); serving what this process has", options.Value.S3.Bucket);
            }
            _failing = true;
        }
    }
}
