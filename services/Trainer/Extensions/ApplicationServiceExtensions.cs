using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using LlmMesh.Trainer.Corpora;
using LlmMesh.Trainer.Runs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Trainer.Extensions;

public static class ApplicationServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TrainerOptions>().BindConfiguration(TrainerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Bundles too: a trainer on a new volume lists and manages the models already in the bucket.
        builder.AddModelBundleStore(StoreAreas.Bundles | StoreAreas.ServingReports);
        builder.Services.AddSingleton(sp => new RunRepository(ResolvePath(sp, o => o.RunsDirectory)));
        builder.Services.AddSingleton(sp => new CorpusLibrary(ResolvePath(sp, o => o.DataDirectory), ResolvePath(sp, o => o.CorporaDirectory),
            sp.GetRequiredService<IOptions<TrainerOptions>>().Value.CorpusLimits));
        builder.Services.AddSingleton<CorpusTokenizer>();
        builder.Services.AddSingleton(sp => new CorpusVocabularies(sp.GetRequiredService<TokenizerClient>(),
            Path.Combine(ResolvePath(sp, o => o.RunsDirectory), "vocabularies.json")));
        builder.Services.AddSingleton<TrainerMetrics>();
        builder.Services.AddSingleton<TrainingRunner>();
        builder.Services.AddSingleton<RunCoordinator>();
        builder.Services.AddSingleton<TorchReadiness>();
        builder.Services.AddHostedService<TrainerStartup>();
        builder.Services.AddHealthChecks().AddTypeActivatedCheck<TorchHealthCheck>("libtorch");

        builder.AddMeshGrpcClient<TokenizerClient>("tokenizer");
        builder.AddMeshDependencyHealthCheck("tokenizer", HealthStatus.Degraded, "new runs cannot tokenize their corpus");
        builder.AddMessaging();
        return builder;
    }

    /// <summary>The dashboard's "start quick run" command posts here.</summary>
    public static WebApplication MapRunCommands(this WebApplication app)
    {
        app.MapPost("/commands/start-quick-run", (RunCoordinator coordinator) =>
        {
            try
            {
                var run = coordinator.Start(RunSettings.FromRequest(new Contracts.V1.StartRunRequest { Preset = TrainingPresets.Quick }));
                return Results.Accepted($"/runs/{run.RunId}", new { runId = run.RunId });
            }
            catch (RunConflictException ex)
            {
                return Results.Conflict(new { error = ex.Message });
            }
            catch (CorpusNotFoundException ex)
            {
                return Results.NotFound(new { error = ex.Message });
            }
        });
        return app;
    }

    private static string ResolvePath(IServiceProvider services, Func<TrainerOptions, string> path) =>
        Path.GetFullPath(path(services.GetRequiredService<IOptions<TrainerOptions>>().Value),
            services.GetRequiredService<IHostEnvironment>().ContentRootPath);

    private sealed class TorchHealthCheck(TorchReadiness torch) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(torch.IsReady ? HealthCheckResult.Healthy("libtorch loaded") : HealthCheckResult.Unhealthy("libtorch is loading"));
    }
}
