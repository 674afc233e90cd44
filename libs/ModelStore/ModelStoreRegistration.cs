using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmMesh.ModelStore;

public static class ModelStoreRegistration
{
    /// <summary>Binds "ModelStore" (validated at start) and registers the bundle store over it, with its model names and serving reports.</summary>
    public static IHostApplicationBuilder AddModelBundleStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModelStoreOptions>().BindConfiguration(ModelStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new ModelBundleStore(
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value.ResolvePath(sp.GetRequiredService<IHostEnvironment>().ContentRootPath)));
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton(sp => new ServingRegistry(sp.GetRequiredService<ModelBundleStore>(), TimeProvider.System));
        return builder;
    }
}
