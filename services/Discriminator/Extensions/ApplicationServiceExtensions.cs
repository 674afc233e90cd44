using Microsoft.Extensions.Diagnostics.HealthChecks;
using LlmMesh.Discriminator.Scoring;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Torch;
using EncoderClient = LlmMesh.Contracts.V1.Encoder.EncoderClient;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Discriminator.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DiscriminatorOptions>().BindConfiguration(DiscriminatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.AddModelBackend(DiscriminatorOptions.Section);
        builder.AddModelServing<DiscriminatorModel, DiscriminatorModelLoader>();
        builder.Services.AddSingleton<Scorer>();
        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshDependencyHealthCheck("tokenizer", HealthStatus.Degraded, "texts cannot be scored; latent codes can");
        // Each hop waits longer than the one behind it (tokenizer 5 s, encoder 10 s, discriminator 15 s), so the
        // status of the service that failed comes through.
        builder.AddMeshGrpcClient<EncoderClient>("encoder", callTimeout: TimeSpan.FromSeconds(10));
        builder.AddMessaging(bus => bus.AddModelReloadConsumer<DiscriminatorModel>("discriminator"));
        return builder;
    }
}
