using LlmMesh.Contracts.Events;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>Hot reload: switches to a newly published bundle of this service's kind.</summary>
public sealed class ModelPublishedConsumer<TModel>(ModelHost<TModel> host, ILogger<ModelPublishedConsumer<TModel>> logger)
    : IConsumer<ModelPublished> where TModel : IServingModel
{
    public Task Consume(ConsumeContext<ModelPublished> context) => HandleAsync(context.Message, context.CancellationToken);

    public async Task HandleAsync(ModelPublished published, CancellationToken cancellationToken)
    {
        if (!host.Accepts(published.Kind))
        {
            return;
        }
        if (host.Current is { } current && string.CompareOrdinal(published.BundleVersion, current.Version) <= 0)
        {
            logger.LogInformation("Ignoring bundle {Version}: already serving {Current}", published.BundleVersion, current.Version);
            return;
        }
        try
        {
            await host.LoadAsync(published.BundleVersion, cancellationToken);
        }
        catch (ModelRefusedException)
        {
            // Logged by the host; the current model stays.
        }
    }
}
