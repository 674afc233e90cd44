using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmMesh.ModelStore;

public static class ModelStoreRegistration
{
    /// <summary>Binds "ModelStore" (validated at start) and registers the bundle store over it.</summary>
    public static IHostApplicationBuilder AddModelBundleStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModelStoreOptions>().BindConfiguration(ModelStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new ModelBundleStore(
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value.ResolvePath(sp.GetRequiredService<IHostEnvironment>().ContentRootPath)));
        return builder;
    }
}
