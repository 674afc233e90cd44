using Microsoft.Extensions.Diagnostics.HealthChecks;
using LlmMesh.Serving.Batching;
using LlmMesh.Generator.Generation;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Torch;
using DiscriminatorClient = LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient;
using EncoderClient = LlmMesh.Contracts.V1.Encoder.EncoderClient;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Generator.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GeneratorOptions>().BindConfiguration(GeneratorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<BatchingOptions>().BindConfiguration($"{GeneratorOptions.Section}:Batching").ValidateDataAnnotations().ValidateOnStart();
        builder.AddModelBackend(GeneratorOptions.Section);
        builder.AddModelServing<GeneratorModel, GeneratorModelLoader>();
        builder.Services.AddSingleton<GenerationEngine>();
        builder.Services.AddSingleton<GenerationTelemetry>();
        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshDependencyHealthCheck("tokenizer", HealthStatus.Degraded, "prompts cannot be encoded; unconditioned generation works");
        // Each hop waits longer than the one behind it (tokenizer 5 s, encoder 10 s, discriminator 15 s), so the
        // status of the service that failed comes through.
        builder.AddMeshGrpcClient<EncoderClient>("encoder", callTimeout: TimeSpan.FromSeconds(10));
        builder.AddMeshGrpcClient<DiscriminatorClient>("discriminator", callTimeout: TimeSpan.FromSeconds(15));
        builder.AddMessaging(bus => bus.AddModelReloadConsumer<GeneratorModel>("generator"));
        return builder;
    }
}
