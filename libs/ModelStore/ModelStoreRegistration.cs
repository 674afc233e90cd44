using LlmMesh.ModelStore.Mirroring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMesh.ModelStore;

public static class ModelStoreRegistration
{
    /// <summary>
    /// Binds "ModelStore" (validated at start) and registers the bundle store over it, with its
    /// model names and serving reports, and the mirror that keeps <paramref name="pulled"/> in step
    /// with the shared store.
    /// </summary>
    public static IHostApplicationBuilder AddModelBundleStore(this IHostApplicationBuilder builder, StoreAreas pulled)
    {
        builder.AddModelStoreMirror(pulled);
        builder.Services.AddSingleton(sp => new ModelBundleStore(StoreRoot(sp)));
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton(sp => new ServingRegistry(sp.GetRequiredService<ModelBundleStore>(), TimeProvider.System));
        return builder;
    }

    /// <summary>
    /// Binds "ModelStore" and registers the mirror: on the S3 backend this process pulls
    /// <paramref name="pulled"/> before its other services start and then every PollInterval.
    /// </summary>
    public static IHostApplicationBuilder AddModelStoreMirror(this IHostApplicationBuilder builder, StoreAreas pulled)
    {
        builder.Services.AddOptions<ModelStoreOptions>().BindConfiguration(ModelStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IModelStoreMirror>(sp =>
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value is { Backend: ModelStoreBackend.S3 } options
                ? new S3StoreMirror(StoreRoot(sp), options.S3, pulled, sp.GetRequiredService<ILogger<S3StoreMirror>>())
                : new SharedFolderMirror());
        if (pulled != StoreAreas.None)
        {
            builder.Services.AddHostedService<ModelStoreSync>();
        }
        return builder;
    }

    /// <summary>The store's root folder: ModelStore:Path, relative to the content root.</summary>
    public static string StoreRoot(IServiceProvider services) =>
        services.GetRequiredService<IOptions<ModelStoreOptions>>().Value.ResolvePath(services.GetRequiredService<IHostEnvironment>().ContentRootPath);
}
