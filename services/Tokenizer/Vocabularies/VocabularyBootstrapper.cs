using LlmMesh.Tokenization;
using Microsoft.Extensions.Options;

namespace LlmMesh.Tokenizer.Vocabularies;

/// <summary>
/// At start-up: activates the store's active vocabulary, or trains the first one from the
/// configured corpus when the store has none. The service is ready only after this.
/// </summary>
public sealed class VocabularyBootstrapper(
    VocabularyRegistry registry,
    VocabularyTrainingService training,
    IOptions<TokenizerOptions> options,
    IHostEnvironment environment,
    ILogger<VocabularyBootstrapper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var active = registry.Store.GetActiveVersion();
            if (active is not null)
            {
                registry.Activate(active, persist: false);
                logger.LogInformation("Serving vocabulary {Version} from {Store}", active, registry.Store.Root);
                return;
            }

            var corpus = Path.GetFullPath(options.Value.CorpusPath, environment.ContentRootPath);
            registry.ReportStatus($"training the first vocabulary from {corpus}");
            logger.LogInformation("No vocabulary in {Store}: training one from {Corpus}", registry.Store.Root, corpus);
            if (!File.Exists(corpus))
            {
                throw new FileNotFoundException($"the corpus {corpus} does not exist (Tokenizer:CorpusPath)");
            }

            var trainer = new BpeTrainer(new BpeTrainingOptions
            {
                VocabularySize = options.Value.VocabularySize,
                MinFrequency = options.Value.MinFrequency,
            });
            await foreach (var line in File.ReadLinesAsync(corpus, stoppingToken))
            {
                trainer.AddLine(line);
            }
            await training.TrainAsync(trainer, activate: true, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            registry.ReportStatus($"no vocabulary could be loaded: {ex.Message}");
            logger.LogCritical(ex, "No vocabulary could be loaded; the service stays unready");
        }
    }
}
