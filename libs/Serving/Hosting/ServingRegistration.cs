using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Serving.Hosting;

public static class ServingRegistration
{
    /// <summary>
    /// Model serving with hot reload: the bundle store and its model names, the model host, start-up loading, serving reports, and
    /// readiness ("model": healthy once a model is loaded and warmed up). The service registers
    /// a Tokenizer client (vocabulary checks) and adds <see cref="AddModelReloadConsumer{TModel}"/> to its bus.
    /// </summary>
    public static IHostApplicationBuilder AddModelServing<TModel, TLoader>(this IHostApplicationBuilder builder)
        where TModel : IServingModel
        where TLoader : class, IModelLoader<TModel>
    {
        builder.AddModelBundleStore(StoreAreas.Bundles | StoreAreas.Vocabularies);
        builder.Services.AddOptions<ServingOptions>().BindConfiguration(ServingOptions.Section)
            .PostConfigure(o => o.Instance = MeshInstance.Resolve(builder.Configuration[MeshInstance.ConfigurationKey]))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IModelLoader<TModel>, TLoader>();
        builder.Services.AddSingleton<IVocabularyCatalog, TokenizerVocabularyCatalog>();
        builder.Services.AddSingleton<ModelHost<TModel>>();
        builder.Services.AddSingleton<TrainingProgress>();
        builder.Services.AddHostedService<ModelHostStartup<TModel>>();
        builder.Services.AddHostedService<ServingReporter<TModel>>();
        builder.Services.AddHealthChecks().AddCheck<ModelReadyHealthCheck<TModel>>("model");
        return builder;
    }

    /// <summary>
    /// Receives ModelPublished on a queue of this process's own, so every replica of every
    /// service reloads (a shared queue would hand each event to one of them only).
    /// </summary>
    public static void AddModelReloadConsumer<TModel>(this IBusRegistrationConfigurator bus, string serviceName) where TModel : IServingModel
    {
        var endpointName = $"{serviceName}-model-reload-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";
        bus.AddConsumer<ModelPublishedConsumer<TModel>>().Endpoint(endpoint =>
        {
            endpoint.Name = endpointName;
            endpoint.Temporary = true;
        });
        // Training progress for the readiness message while no model is loaded, on the same queue.
        bus.AddConsumer<TrainingProgressConsumer>().Endpoint(endpoint =>
        {
            endpoint.Name = endpointName;
            endpoint.Temporary = true;
        });
    }
}
