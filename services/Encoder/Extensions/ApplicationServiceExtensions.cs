using Microsoft.Extensions.Diagnostics.HealthChecks;
using LlmMesh.Encoder.Encoding;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Torch;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Encoder.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EncoderOptions>().BindConfiguration(EncoderOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.AddModelBackend(EncoderOptions.Section);
        builder.AddModelServing<EncoderModel, EncoderModelLoader>();
        builder.Services.AddSingleton<TextEncoder>();
        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshDependencyHealthCheck("tokenizer", HealthStatus.Unhealthy, "texts cannot be encoded");
        builder.AddMessaging(bus => bus.AddModelReloadConsumer<EncoderModel>("encoder"));
        return builder;
    }
}
