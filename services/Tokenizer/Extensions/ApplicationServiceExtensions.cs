using LlmMesh.ModelStore;
using LlmMesh.Tokenization;
using LlmMesh.Tokenizer.Vocabularies;
using Microsoft.Extensions.Options;

namespace LlmMesh.Tokenizer.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TokenizerOptions>()
            .BindConfiguration(TokenizerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<ModelStoreOptions>()
            .BindConfiguration(ModelStoreOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton(sp => new VocabularyStore(
            sp.GetRequiredService<IOptions<ModelStoreOptions>>().Value.ResolvePath(sp.GetRequiredService<IHostEnvironment>().ContentRootPath)));
        builder.Services.AddSingleton<VocabularyRegistry>();
        builder.Services.AddSingleton<VocabularyTrainingService>();
        builder.Services.AddHostedService<VocabularyBootstrapper>();
        builder.Services.AddHealthChecks().AddCheck<VocabularyReadyHealthCheck>("vocabulary");

        builder.AddMessaging();
        return builder;
    }
}
