using LlmMesh.Discriminator.Scoring;
using LlmMesh.Serving.Hosting;
using EncoderClient = LlmMesh.Contracts.V1.Encoder.EncoderClient;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Discriminator.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DiscriminatorOptions>().BindConfiguration(DiscriminatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.AddModelServing<DiscriminatorModel, DiscriminatorModelLoader>();
        builder.Services.AddSingleton<Scorer>();
        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshGrpcClient<EncoderClient>("encoder");
        builder.AddMessaging(bus => bus.AddModelReloadConsumer<DiscriminatorModel>("discriminator"));
        return builder;
    }
}
