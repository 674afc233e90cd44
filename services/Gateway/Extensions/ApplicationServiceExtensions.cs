using LlmMesh.Gateway.OpenAi;

namespace LlmMesh.Gateway.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.AddLlmMeshClient();
        builder.Services.AddHealthChecks().AddCheck<GeneratorReadyHealthCheck>("generator");
        return builder;
    }
}
