using LlmMesh.Serving.Batching;
using LlmMesh.Generator.Generation;
using LlmMesh.Serving.Hosting;
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
        builder.AddModelServing<GeneratorModel, GeneratorModelLoader>();
        builder.Services.AddSingleton<GenerationEngine>();
        builder.Services.AddSingleton<GenerationTelemetry>();
        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshGrpcClient<EncoderClient>("encoder");
        builder.AddMeshGrpcClient<DiscriminatorClient>("discriminator");
        builder.AddMessaging(bus => bus.AddModelReloadConsumer<GeneratorModel>("generator"));
        return builder;
    }
}
