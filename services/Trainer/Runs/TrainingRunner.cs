using System.Diagnostics;
using System.Text.Json.Nodes;
using LlmMesh.Contracts.Events;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using Microsoft.Extensions.Options;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// Executes one run: tokenize the corpus through the tokenizer service, hold out a validation
/// split, train the VAE with periodic checkpoints and a held-out evaluation every epoch, then
/// publish a bundle. Every phase is reported to watchers and as events. A run interrupted by a
/// shutdown stays "running" and resumes from its last checkpoint at the next start.
/// </summary>
public sealed class TrainingRunner(
    RunRepository runs,
    ModelBundleStore bundles,
    CorpusTokenizer tokenizer,
    CorpusResolver corpora,
    EventPublisher events,
    TrainerMetrics metrics,
    IOptions<TrainerOptions> options,
    ILogger<TrainingRunner> logger)
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(15);

    public async Task ExecuteAsync(TrainingRun run, CancellationToken shutdown)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(run.CancellationToken, shutdown);
        var token = cancellation.Token;
        var resuming = run.Record.Status == RunStatus.Running;
        try
        {
            SetRecord(run, r => r with { Status = RunStatus.Running });
            var settings = run.Record.Settings;
            run.Report(PhaseUpdate(run, "tokenize", "tokenizing the corpus through the tokenizer service"));
            var corpus = await tokenizer.TokenizeAsync(
                corpora.Resolve(settings.Corpus),
                resuming && run.Record.VocabularyVersion.Length > 0 ? run.Record.VocabularyVersion : settings.VocabularyVersion,
                options.Value.MaxCorpusBytes, token);
            if (resuming && run.Record.CorpusSha256.Length > 0 && run.Record.CorpusSha256 != corpus.Sha256)
            {
                throw new InvalidOperationException("the corpus changed since the run started; it cannot resume");
            }
            var (bundle, final) = await TorchThread.RunAsync($"train-{run.RunId}", () => Train(run, corpus, token));
            SetRecord(run, r => r with { Status = RunStatus.Completed, BundleVersion = bundle.Version, BundleLocation = bundle.Directory, Validation = final });
            runs.DeleteCheckpoints(run.RunId);
            var bundleMetrics = new Dictionary<string, double>(bundle.Manifest.Metrics);
            await events.PublishAsync(new ModelPublished(run.RunId, bundle.Version, bundle.Directory, bundle.Manifest.Kind,
                corpus.VocabularyVersion, bundleMetrics, DateTimeOffset.UtcNow), CancellationToken.None);
            await events.PublishAsync(new RunCompleted(run.RunId, bundle.Version, bundleMetrics, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogInformation("Run {RunId} published bundle {Bundle}: held-out NLL {Nll:F3} nats/token, KL {Kl:F2} nats/sentence",
                run.RunId, bundle.Version, final.NllPerToken, final.KlPerSentence);
        }
        catch (Exception) when (run.CancellationToken.IsCancellationRequested)
        {
            SetRecord(run, r => r with { Status = RunStatus.Cancelled });
            runs.DeleteCheckpoints(run.RunId);
            await events.PublishAsync(new RunCancelled(run.RunId, run.Record.Step, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogInformation("Run {RunId} was cancelled at step {Step}", run.RunId, run.Record.Step);
        }
        catch (Exception) when (shutdown.IsCancellationRequested)
        {
            logger.LogInformation("Run {RunId} was interrupted at step {Step}; it resumes at the next start", run.RunId, run.Record.Step);
        }
        catch (Exception ex)
        {
            SetRecord(run, r => r with { Status = RunStatus.Failed, Error = ex.Message });
            await events.PublishAsync(new RunFailed(run.RunId, ex.Message, run.Record.Step, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogError(ex, "Run {RunId} failed", run.RunId);
        }
        finally
        {
            run.Finish();
        }
    }

    /// <summary>Trains and publishes on one thread (see <see cref="TorchThread"/>); returns the bundle and its held-out metrics.</summary>
    private (ModelBundle Bundle, EvaluationMetrics Final) Train(TrainingRun run, TokenizedCorpus corpus, CancellationToken token)
    {
        var settings = run.Record.Settings;
        var (train, validation) = Split(corpus.Sentences, settings);
        using var trainer = new VaeTrainer(settings.ModelConfig(corpus.VocabularySize), settings.Training, train);
        var checkpoint = runs.LatestCheckpoint(run.RunId);
        if (checkpoint is not null)
        {
            trainer.LoadCheckpoint(checkpoint);
            logger.LogInformation("Run {RunId} resumes from {Checkpoint}", run.RunId, checkpoint);
        }
        SetRecord(run, r => r with
        {
            VocabularyVersion = corpus.VocabularyVersion,
            CorpusSha256 = corpus.Sha256,
            TotalSteps = trainer.TotalSteps,
            Step = trainer.Position.Step,
            Epoch = trainer.Position.Epoch,
        });
        events.Publish(new RunStarted(run.RunId, settings.Preset, settings.Corpus, settings.Training.Seed,
            trainer.TotalSteps, run.Record.Epochs, corpus.VocabularyVersion, settings.ToJson(), DateTimeOffset.UtcNow));
        logger.LogInformation(
            "Run {RunId} trains {Preset} on {Corpus}: {Train} training and {Validation} held-out sentences, {Steps} steps, vocabulary {Vocabulary}",
            run.RunId, settings.Preset, settings.Corpus, train.Count, validation.Count, trainer.TotalSteps, corpus.VocabularyVersion);
        run.Report(PhaseUpdate(run, "vae", checkpoint is null ? "training" : $"resumed from step {trainer.Position.Step}"));

        var final = TrainSteps(run, trainer, validation, token);
        var publishedEpoch = run.Record.BestEpoch ?? trainer.Position.Epoch;

        run.Report(PhaseUpdate(run, "publish", "publishing the model bundle"));
        var bundle = VaeBundle.Publish(bundles, trainer.Model, settings.Training, run.RunId, corpus.Sha256, corpus.VocabularyVersion,
            BundleMetrics(final, trainer, publishedEpoch), new JsonObject
            {
                ["corpus"] = settings.Corpus,
                ["preset"] = settings.Preset,
                ["validation_fraction"] = settings.ValidationFraction,
            });
        return (bundle, final);
    }

    private EvaluationMetrics TrainSteps(TrainingRun run, VaeTrainer trainer, IReadOnlyList<int[]> validation, CancellationToken token)
    {
        var settings = run.Record.Settings;
        var window = new Window();
        var epochWindow = new Window();
        var sinceReport = Stopwatch.StartNew();
        var sinceLog = Stopwatch.StartNew();
        EvaluationMetrics? lastEvaluation = null;
        while (!trainer.IsFinished)
        {
            token.ThrowIfCancellationRequested();
            var step = trainer.TrainStep();
            window.Add(step);
            epochWindow.Add(step);
            var position = trainer.Position;
            var epochEnded = position.BatchInEpoch == 0;
            EvaluationMetrics? evaluation = null;
            if (epochEnded)
            {
                evaluation = lastEvaluation = trainer.Evaluate(validation);
                KeepIfBest(run, trainer, step.Epoch, evaluation);
                events.Publish(new EpochCompleted(run.RunId, step.Epoch, step.Step, epochWindow.Reconstruction, epochWindow.Kl,
                    evaluation.NllPerToken, evaluation.Perplexity, evaluation.KlPerSentence, evaluation.ReconstructionAccuracy,
                    evaluation.ActiveUnits, epochWindow.TokensPerSecond, DateTimeOffset.UtcNow));
                epochWindow = new Window();
            }
            if (epochEnded || position.Step % settings.CheckpointEverySteps == 0 || trainer.IsFinished)
            {
                var location = runs.SaveCheckpoint(run.RunId, trainer);
                SetRecord(run, r => r with { Step = position.Step, Epoch = position.Epoch, Validation = evaluation ?? r.Validation });
                events.Publish(new CheckpointSaved(run.RunId, position.Step, position.Epoch, location, DateTimeOffset.UtcNow));
            }
            if (epochEnded || sinceReport.Elapsed >= ReportInterval || trainer.IsFinished)
            {
                var update = new RunUpdate(run.RunId, "vae", position.Step, trainer.TotalSteps, step.Epoch, run.Record.Epochs,
                    window.Reconstruction, window.Kl, step.KlWeight, window.TokensPerSecond,
                    window.EtaSeconds(trainer.TotalSteps - position.Step), evaluation);
                run.Report(update);
                metrics.Record(update, window.Steps, window.Tokens);
                if (evaluation is not null || sinceLog.Elapsed >= LogInterval)
                {
                    LogProgress(update);
                    sinceLog.Restart();
                }
                window = new Window();
                sinceReport.Restart();
            }
        }
        if (lastEvaluation is null || trainer.Position.BatchInEpoch != 0)
        {
            run.Report(PhaseUpdate(run, "evaluation", "final held-out evaluation"));
            lastEvaluation = trainer.Evaluate(validation);
            KeepIfBest(run, trainer, trainer.Position.Epoch, lastEvaluation);
        }
        // Publish the epoch that generalised best, not merely the last one (the full preset overfits late).
        if (run.Record.BestValidation is { } best && best.NllPerToken < lastEvaluation.NllPerToken)
        {
            trainer.Model.load(runs.BestWeights(run.RunId));
            logger.LogInformation("Run {RunId} publishes epoch {Epoch} (held-out NLL {Best:F3}) rather than the last (NLL {Last:F3})",
                run.RunId, run.Record.BestEpoch, best.NllPerToken, lastEvaluation.NllPerToken);
            return best;
        }
        return lastEvaluation;
    }

    private void KeepIfBest(TrainingRun run, VaeTrainer trainer, int epoch, EvaluationMetrics evaluation)
    {
        if (run.Record.BestValidation is { } best && best.NllPerToken <= evaluation.NllPerToken)
        {
            return;
        }
        runs.SaveBest(run.RunId, trainer.Model);
        SetRecord(run, r => r with { BestValidation = evaluation, BestEpoch = epoch });
    }

    private void LogProgress(RunUpdate update)
    {
        if (update.Validation is { } v)
        {
            logger.LogInformation(
                "Run {RunId} epoch {Epoch} step {Step}/{Total}: held-out NLL {Nll:F3} nats/token (ppl {Perplexity:F1}), KL {Kl:F2} nats/sentence, reconstruction accuracy {Accuracy:P1}, active units {ActiveUnits}",
                update.RunId, update.Epoch, update.Step, update.TotalSteps, v.NllPerToken, v.Perplexity, v.KlPerSentence,
                v.ReconstructionAccuracy, v.ActiveUnits);
        }
        else
        {
            logger.LogInformation(
                "Run {RunId} step {Step}/{Total}: reconstruction {Reconstruction:F3} nats/token, KL {Kl:F2}, beta {Beta:F2}, {TokensPerSecond:F0} tokens/s, ETA {Eta:F0} s",
                update.RunId, update.Step, update.TotalSteps, update.ReconstructionPerToken, update.KlPerSentence, update.KlWeight,
                update.TokensPerSecond, update.EtaSeconds);
        }
    }

    private void SetRecord(TrainingRun run, Func<RunRecord, RunRecord> change)
    {
        run.UpdateRecord(change);
        runs.Save(run.Record);
    }

    private static RunUpdate PhaseUpdate(TrainingRun run, string phase, string message)
    {
        var r = run.Record;
        return new RunUpdate(r.RunId, phase, r.Step, r.TotalSteps, r.Epoch, r.Epochs, 0, 0, 0, 0, 0, null, message);
    }

    /// <summary>A deterministic held-out split: the same seed always holds out the same sentences.</summary>
    internal static (IReadOnlyList<int[]> Train, IReadOnlyList<int[]> Validation) Split(IReadOnlyList<int[]> sentences, RunSettings settings)
    {
        var usable = sentences.Where(s => s.Length > 0).ToArray();
        var order = Enumerable.Range(0, usable.Length).ToArray();
        new Random(Seeds.DeriveInt(settings.Training.Seed, stream: 4, index: 0)).Shuffle(order);
        var held = Math.Clamp((int)Math.Round(usable.Length * settings.ValidationFraction), 1, usable.Length - 1);
        return (order.Skip(held).Select(i => usable[i]).ToArray(), order.Take(held).Select(i => usable[i]).ToArray());
    }

    private static Dictionary<string, double> BundleMetrics(EvaluationMetrics final, VaeTrainer trainer, int epoch) => new()
    {
        ["epoch"] = epoch,
        ["validation_nll_per_token"] = final.NllPerToken,
        ["validation_perplexity"] = final.Perplexity,
        ["validation_reconstruction_per_token"] = final.ReconstructionPerToken,
        ["validation_kl_per_sentence"] = final.KlPerSentence,
        ["reconstruction_accuracy"] = final.ReconstructionAccuracy,
        ["greedy_reconstruction_accuracy"] = final.GreedyReconstructionAccuracy,
        ["active_units"] = final.ActiveUnits,
        ["validation_sentences"] = final.Sentences,
        ["steps"] = trainer.Position.Step,
    };

    /// <summary>Averages of the steps since the last report.</summary>
    private sealed class Window
    {
        private double _reconstruction;
        private double _kl;
        private double _seconds;

        public long Steps { get; private set; }
        public long Tokens { get; private set; }
        public double Reconstruction => Steps == 0 ? 0 : _reconstruction / Steps;
        public double Kl => Steps == 0 ? 0 : _kl / Steps;
        public double TokensPerSecond => _seconds <= 0 ? 0 : Tokens / _seconds;

        public void Add(StepMetrics step)
        {
            Steps++;
            Tokens += step.Tokens;
            _reconstruction += step.ReconstructionPerToken;
            _kl += step.KlPerSentence;
            _seconds += step.Seconds;
        }

        public double EtaSeconds(long remainingSteps) => Steps == 0 ? 0 : remainingSteps * _seconds / Steps;
    }
}
