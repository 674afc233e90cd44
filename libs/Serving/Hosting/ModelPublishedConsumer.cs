using LlmMesh.Contracts.Events;
using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace LlmMesh.Serving.Hosting;

/// <summary>Hot reload: a newly published version of a model this service serves replaces the one it serves (other models are untouched).</summary>
public sealed class ModelPublishedConsumer<TModel>(ModelHost<TModel> host, IModelStoreMirror mirror, ILogger<ModelPublishedConsumer<TModel>> logger)
    : IConsumer<ModelPublished> where TModel : IServingModel
{
    public Task Consume(ConsumeContext<ModelPublished> context) => HandleAsync(context.Message, context.CancellationToken);

    public async Task HandleAsync(ModelPublished published, CancellationToken cancellationToken)
    {
        if (!host.Accepts(published.Kind))
        {
            return;
        }
        var model = published.Model.Length > 0 ? published.Model : BundleManifest.LegacyModel;
        try
        {
            // On object storage the bundle is fetched (and verified) now, not at the next poll.
            await mirror.PullAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Bundle {Version} of model {Model} published but the shared store cannot be read: {Reason}", published.BundleVersion, model, ex.Message);
        }
        try
        {
            if (await host.FollowAsync(model, cancellationToken) is { } serving)
            {
                logger.LogInformation("Bundle {Version} of model {Model} published; serving {Serving}", published.BundleVersion, model, serving.Version);
            }
        }
        catch (ModelRefusedException)
        {
            // Logged by the host; the version served stays.
        }
        catch (MeshException ex) when (ex.Kind is MeshErrorKind.NotFound)
        {
            logger.LogWarning("Bundle {Version} of model {Model} published but not found: {Reason}", published.BundleVersion, model, ex.Message);
        }
    }
}
