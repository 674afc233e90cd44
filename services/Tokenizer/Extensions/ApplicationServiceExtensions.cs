using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using LlmMesh.Tokenization;
using LlmMesh.Tokenizer.Vocabularies;

namespace LlmMesh.Tokenizer.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TokenizerOptions>()
            .BindConfiguration(TokenizerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Vocabularies this tokenizer does not have yet (a new machine) come from the shared store.
        builder.AddModelStoreMirror(StoreAreas.Vocabularies);
        builder.Services.AddSingleton(sp => new VocabularyStore(ModelStoreRegistration.StoreRoot(sp)));
        builder.Services.AddSingleton<VocabularyRegistry>();
        builder.Services.AddSingleton<VocabularyTrainingService>();
        builder.Services.AddHostedService<VocabularyBootstrapper>();
        builder.Services.AddHealthChecks().AddCheck<VocabularyReadyHealthCheck>("vocabulary");

        builder.AddMessaging();
        return builder;
    }
}
