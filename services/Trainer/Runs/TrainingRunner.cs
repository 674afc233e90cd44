using LlmMesh.Trainer.Corpora;
using LlmMesh.Evaluation;
using System.Text.Json.Nodes;
using LlmMesh.Contracts.Events;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using Microsoft.Extensions.Options;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// Executes one run: tokenize the corpus through the tokenizer service and hold out a validation
/// split, then the phases — VAE (unless the run starts from a bundle), adversarial (latent
/// WGAN-GP), evaluation (text discriminator, calibration, metrics) — and publish a bundle. Every
/// phase is reported to watchers and as events. A run interrupted by a shutdown stays "running"
/// and resumes at the next start in the phase it was in, from that phase's last checkpoint.
/// </summary>
public sealed class TrainingRunner(
    RunRepository runs,
    ModelBundleStore bundles,
    CorpusTokenizer tokenizer,
    CorpusVocabularies vocabularies,
    CorpusLibrary corpora,
    EventPublisher events,
    IModelStoreMirror mirror,
    TrainerMetrics metrics,
    IOptions<TrainerOptions> options,
    ILogger<TrainingRunner> logger)
{
    public async Task ExecuteAsync(TrainingRun run, CancellationToken shutdown)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(run.CancellationToken, shutdown);
        var token = cancellation.Token;
        var context = new RunContext(run, runs, events, metrics, logger);
        var resuming = run.Record.Status == RunStatus.Running;
        try
        {
            context.SetRecord(r => r with { Status = RunStatus.Running });
            var settings = run.Record.Settings;
            var startBundle = settings.StartFromBundle.Length > 0 ? bundles.Open(settings.StartFromBundle, VaeBundle.KindsWithVae) : null;
            var text = await CorpusText.ReadAsync(corpora.Resolve(settings.Corpus), options.Value.MaxCorpusBytes, token);
            if (resuming && run.Record.CorpusSha256.Length > 0 && run.Record.CorpusSha256 != text.Sha256)
            {
                throw new InvalidOperationException("the corpus changed since the run started; it cannot resume");
            }
            var vocabulary = await ChooseVocabularyAsync(context, startBundle, resuming, text, token);
            context.ReportPhase(RunPhases.Tokenize, "tokenizing the corpus through the tokenizer service");
            var corpus = await tokenizer.TokenizeAsync(text, vocabulary, token);
            var shuffled = settings.HasAdversarialPhase ? await tokenizer.TokenizeShuffledAsync(corpus, settings.Training.Seed, token) : null;

            var bundle = await TorchThread.RunAsync($"train-{run.RunId}", () => Train(context, corpus, shuffled, startBundle, token));
            // In the shared store before the run says "completed": replicas elsewhere load it from there.
            context.ReportPhase(RunPhases.Publish, $"publishing bundle {bundle.Version}");
            await mirror.PushBundleAsync(bundle, token);

            var bundleMetrics = new Dictionary<string, double>(bundle.Manifest.Metrics);
            context.SetRecord(r => r with
            {
                Status = RunStatus.Completed,
                Phase = RunPhases.Publish,
                BundleVersion = bundle.Version,
                BundleLocation = bundle.Directory,
                Metrics = bundleMetrics,
            });
            runs.DeleteCheckpoints(run.RunId);
            await events.PublishAsync(new ModelPublished(run.RunId, bundle.Version, bundle.Directory, bundle.Manifest.Kind,
                corpus.VocabularyVersion, bundleMetrics, DateTimeOffset.UtcNow, bundle.Manifest.ModelName), CancellationToken.None);
            await events.PublishAsync(new RunCompleted(run.RunId, bundle.Version, bundleMetrics, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogInformation("Run {RunId} published {Kind} bundle {Bundle}", run.RunId, bundle.Manifest.Kind, bundle.Version);
        }
        catch (Exception) when (run.CancellationToken.IsCancellationRequested)
        {
            context.SetRecord(r => r with { Status = RunStatus.Cancelled });
            runs.DeleteCheckpoints(run.RunId);
            await events.PublishAsync(new RunCancelled(run.RunId, run.Record.Step, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogInformation("Run {RunId} was cancelled at step {Step}", run.RunId, run.Record.Step);
        }
        catch (Exception) when (shutdown.IsCancellationRequested)
        {
            logger.LogInformation("Run {RunId} was interrupted in the {Phase} phase; it resumes at the next start", run.RunId, run.Record.Phase);
        }
        catch (Exception ex)
        {
            context.SetRecord(r => r with { Status = RunStatus.Failed, Error = ex.Message });
            await events.PublishAsync(new RunFailed(run.RunId, ex.Message, run.Record.Step, DateTimeOffset.UtcNow), CancellationToken.None);
            logger.LogError(ex, "Run {RunId} failed", run.RunId);
        }
        finally
        {
            run.Finish();
        }
    }

    /// <summary>
    /// The start bundle's vocabulary, the one a resumed run began with, the one the request names,
    /// or else one learned from the corpus itself.
    /// </summary>
    private async Task<string> ChooseVocabularyAsync(RunContext context, ModelBundle? startBundle, bool resuming, CorpusText text, CancellationToken token)
    {
        var named = startBundle?.Manifest.TokenizerVersion
            ?? (resuming && context.Record.VocabularyVersion.Length > 0 ? context.Record.VocabularyVersion : context.Settings.VocabularyVersion);
        if (named.Length > 0)
        {
            return named;
        }
        context.ReportPhase(RunPhases.Tokenize, $"learning a vocabulary of up to {CorpusVocabularies.SizeFor(text.Bytes)} tokens from the corpus (once per corpus)");
        return await vocabularies.ForCorpusAsync(text, token);
    }

    /// <summary>All phases and the bundle, on one thread (see <see cref="TorchThread"/>).</summary>
    private ModelBundle Train(RunContext context, TokenizedCorpus corpus, IReadOnlyList<int[]>? shuffled, ModelBundle? startBundle, CancellationToken token)
    {
        var settings = context.Settings;
        var data = RunData.Split(corpus, shuffled, settings);
        var config = startBundle is null ? settings.ModelConfig(corpus.VocabularySize) : VaeBundle.ReadConfig(startBundle);
        var splitMetrics = Announce(context, corpus, data, startBundle);
        if (context.Record.Phase == RunPhases.Vae)
        {
            RunVaePhase(context, config, data, startBundle, token);
        }

        using var vae = new SentenceVae(config);
        vae.load(context.Runs.FinalVae(context.Run.RunId));
        var bundleMetrics = Merge(new Dictionary<string, double>(context.Record.Validation is { } v
            ? RunContext.VaeMetrics(v, context.Record.BestEpoch ?? context.Record.Epoch, context.Record.Step)
            : new Dictionary<string, double>()), splitMetrics);
        return settings.HasAdversarialPhase
            ? TrainAdversarialAndPublish(context, corpus, data, config, vae, bundleMetrics, token)
            : EvaluateAndPublishVae(context, corpus, data, vae, bundleMetrics, token);
    }

    /// <summary>The training and held-out text of a run, by corpus index, tokenized and as lines.</summary>
    private sealed record RunData(HeldOutSplit HeldOutSplit, int[][] Train, int[][] Validation, CorpusSplit Lines, IReadOnlyList<int[]>? Shuffled)
    {
        public static RunData Split(TokenizedCorpus corpus, IReadOnlyList<int[]>? shuffled, RunSettings settings)
        {
            var heldOutSplit = TrainingRunner.Split(corpus.Lines, settings);
            return new RunData(heldOutSplit,
                heldOutSplit.Train.Select(i => corpus.Sentences[i]).ToArray(),
                heldOutSplit.HeldOut.Select(i => corpus.Sentences[i]).ToArray(),
                new CorpusSplit(heldOutSplit.Train.Select(i => corpus.Lines[i]).ToArray(), heldOutSplit.HeldOut.Select(i => corpus.Lines[i]).ToArray()),
                shuffled);
        }

        /// <summary>The word-shuffled negatives of the training or held-out sentences (for the fluency discriminator).</summary>
        public int[][] ShuffledOf(IEnumerable<int> indices) => indices.Select(i => Shuffled![i]).ToArray();
    }

    /// <summary>Publishes RunStarted and logs what the run trains on; returns the split's metrics.</summary>
    private static Dictionary<string, double> Announce(RunContext context, TokenizedCorpus corpus, RunData data, ModelBundle? startBundle)
    {
        var settings = context.Settings;
        var runId = context.Run.RunId;
        context.SetRecord(r => r with { VocabularyVersion = corpus.VocabularyVersion, CorpusSha256 = corpus.Sha256 });
        var totalSteps = startBundle is null ? VaeTrainer.StepsFor(settings.Training, data.Train.Length) : settings.Adversarial.Steps;
        context.Events.Publish(new RunStarted(runId, settings.Preset, settings.Corpus, settings.Training.Seed,
            totalSteps, context.Record.Epochs, corpus.VocabularyVersion, settings.ToJson(), DateTimeOffset.UtcNow));
        var splitMetrics = SplitMetrics(data.HeldOutSplit, data.Lines);
        context.Logger.LogInformation(
            "Run {RunId} trains {Preset} on {Corpus}: {Train} training and {Validation} held-out sentences ({SetAside} near-duplicates of held-out ones set aside; held-out 4-grams seen in training: {Overlap:P1}), vocabulary {Vocabulary}, phases: {Phases}",
            runId, settings.Preset, settings.Corpus, data.Train.Length, data.Validation.Length, data.HeldOutSplit.SetAside.Length,
            splitMetrics["heldout_4gram_overlap"], corpus.VocabularyVersion,
            string.Join(", ", new[] { startBundle is null ? RunPhases.Vae : null, settings.HasAdversarialPhase ? RunPhases.Adversarial : null, RunPhases.Evaluation }
                .OfType<string>()));
        return splitMetrics;
    }

    /// <summary>Trains the VAE (or takes the start bundle's) and saves the weights the run goes on with.</summary>
    private static void RunVaePhase(RunContext context, VaeConfig config, RunData data, ModelBundle? startBundle, CancellationToken token)
    {
        var runId = context.Run.RunId;
        if (startBundle is not null)
        {
            using var given = BundleModules.LoadVae(startBundle);
            context.Runs.SaveWeights(context.Runs.FinalVae(runId), given);
            context.SetRecord(r => r with { Validation = null });
        }
        else
        {
            using var trainer = new VaeTrainer(config, context.Settings.Training, data.Train);
            TrainVae(context, trainer, data.Validation, token);
            context.Runs.SaveWeights(context.Runs.FinalVae(runId), trainer.Model);
        }
        context.StartPhase(context.Settings.HasAdversarialPhase ? RunPhases.Adversarial : RunPhases.Evaluation);
    }

    /// <summary>A run without the adversarial phase (a VAE or the plain language model): evaluate and publish.</summary>
    private ModelBundle EvaluateAndPublishVae(RunContext context, TokenizedCorpus corpus, RunData data, SentenceVae vae,
        Dictionary<string, double> bundleMetrics, CancellationToken token)
    {
        var settings = context.Settings;
        var (metrics, sampling) = EvaluateText(context, vae, latentGenerator: null, reranking: null, data.Lines, data.Validation, corpus.VocabularyVersion, token);
        context.CompletePhase(RunPhases.Evaluation, metrics);
        context.ReportPhase(RunPhases.Publish, "publishing the model bundle");
        return BundleWriter.PublishVae(bundles, vae, settings.Training, Origin(context, corpus), Merge(bundleMetrics, metrics),
            RunDetails(settings, sampling), new TrainingSplit(data.Lines, data.Train));
    }

    private static BundleOrigin Origin(RunContext context, TokenizedCorpus corpus) =>
        new(context.Run.RunId, context.Settings.Model, context.Settings.Corpus, corpus.Sha256, corpus.VocabularyVersion);

    /// <summary>The adversarial phase (or its last checkpoint), then the evaluation and the ARAE bundle.</summary>
    private ModelBundle TrainAdversarialAndPublish(RunContext context, TokenizedCorpus corpus, RunData data, VaeConfig config, SentenceVae vae,
        Dictionary<string, double> bundleMetrics, CancellationToken token)
    {
        var settings = context.Settings;
        var runId = context.Run.RunId;
        using var gan = new LatentGanTrainer(settings.LatentGanConfig(config.LatentSize), settings.Adversarial, vae, data.Train, settings.Training);
        if (context.Record.Phase == RunPhases.Adversarial)
        {
            context.CompletePhase(RunPhases.Adversarial, new AdversarialPhase(context).Run(gan, token));
            context.StartPhase(RunPhases.Evaluation);
        }
        else
        {
            gan.LoadCheckpoint(context.Runs.LatestCheckpoint(runId, RunPhases.Adversarial)
                ?? throw new InvalidDataException("the adversarial phase left no checkpoint to evaluate"));
        }
        if (settings.Adversarial.EncoderRegularization > 0)
        {
            // The encoder moved with the critic: the codes the VAE serves are the regularised ones.
            context.Runs.SaveWeights(context.Runs.FinalVae(runId), vae);
        }

        var heldOut = new HeldOutText(data.Validation, data.ShuffledOf(data.HeldOutSplit.HeldOut));
        var evaluation = AraeEvaluation.Run(vae, gan.LatentGenerator, gan.Critic, data.Train, data.ShuffledOf(data.HeldOutSplit.Train), heldOut,
            new TextDiscriminatorOptions(settings.TextDiscriminatorEpochs), settings.Training.Seed, Decoder(corpus.VocabularyVersion, token),
            settings.EvaluationSamples, token);
        using var textDiscriminator = evaluation.TextDiscriminator;
        var reranking = new BestOfReranking(vae, gan.Critic, textDiscriminator, evaluation.Calibration);
        var (textMetrics, recommended) = EvaluateText(context, vae, gan.LatentGenerator, reranking, data.Lines, data.Validation, corpus.VocabularyVersion, token);
        var evaluationMetrics = Merge(new Dictionary<string, double>(evaluation.Metrics), textMetrics);
        context.CompletePhase(RunPhases.Evaluation, evaluationMetrics);

        bundleMetrics["adversarial_steps"] = gan.Position.Step;
        context.ReportPhase(RunPhases.Publish, "publishing the model bundle");
        return BundleWriter.PublishArae(bundles, vae, settings.Training, gan.LatentGenerator, gan.Critic, settings.Adversarial,
            textDiscriminator, evaluation.Calibration, Origin(context, corpus), Merge(bundleMetrics, evaluationMetrics),
            RunDetails(settings, recommended), new TrainingSplit(data.Lines, data.Train));
    }

    /// <summary>
    /// The text metrics of the evaluation harness: the sampling settings the bundle recommends,
    /// chosen on the held-out split (z from the latent generator, or the prior; with the run's
    /// best-of, reranked by the discriminator; with its LM weight, mixed with the decoder's own plain
    /// language model), the samples' metrics at those settings, and the decoder on held-out text.
    /// </summary>
    private (Dictionary<string, double> Metrics, RecommendedSampling Sampling) EvaluateText(RunContext context, SentenceVae vae,
        LatentGenerator? latentGenerator, BestOfReranking? reranking, CorpusSplit split, IReadOnlyList<int[]> validation, string vocabularyVersion, CancellationToken token)
    {
        var settings = context.Settings;
        var progress = new ThrottledProgress(p => context.ReportPhase(RunPhases.Evaluation, ThrottledProgress.Describe(p)));
        var decode = Decoder(vocabularyVersion, token);
        var dictionary = NonWords.ReadSystemDictionary();
        if (dictionary is null)
        {
            context.Logger.LogWarning("No dictionary at {Path} (Debian package wamerican): the non-word rate is not measured", NonWords.SystemDictionary);
        }
        var evaluator = new TextEvaluator(split.HeldOut, split.Train, progress, dictionary);
        var options = new GenerationEvaluationOptions { Samples = settings.EvaluationSamples, Seed = settings.Training.Seed };
        var choice = SamplingSelection.Choose(sampling =>
        {
            var trial = options with
            {
                Temperature = sampling.Temperature, TopP = sampling.TopP, MinP = sampling.MinP, LatentTemperature = sampling.LatentTemperature,
                BestOf = sampling.BestOf,
            };
            var mix = sampling.LmWeight > 0 ? new LanguageModelMix(vae, sampling.LmWeight) : null;
            var report = GenerationEvaluation.EvaluateSamples(vae, latentGenerator, reranking, evaluator, decode, trial, progress, token, mix).Report;
            context.Logger.LogInformation(
                "Run {RunId} sampling with {Sampling}: BLEU-4 {Bleu4:F3}, Self-BLEU-4 {SelfBleu4:F3}, copies {Copies:P2}, non-word sentences {NonWords:P1}",
                context.Run.RunId, sampling, report.Bleu.Bleu4, report.SelfBleu.Bleu4, report.TrainCopyRate, report.NonWordSentenceRate ?? double.NaN);
            return report;
        }, [.. SamplingSelection.DefaultFamilies.Select(family => family with { BestOf = reranking is null ? 1 : settings.SamplingBestOf, LmWeight = settings.SamplingLmWeight })], token);
        var recommended = choice.Chosen.Sampling;
        context.Logger.LogInformation("Run {RunId} recommends sampling with {Sampling} ({Trials} settings tried)", context.Run.RunId, recommended, choice.Trials.Count);
        var metrics = new Dictionary<string, double>(choice.Chosen.Report.ToMetrics())
        {
            ["recommended_temperature"] = recommended.Temperature,
            ["recommended_top_p"] = recommended.TopP,
            ["recommended_min_p"] = recommended.MinP,
            ["recommended_latent_temperature"] = recommended.LatentTemperature,
            ["recommended_best_of"] = recommended.BestOf,
            ["recommended_lm_weight"] = recommended.LmWeight,
        };
        return (Merge(metrics, GenerationEvaluation.HeldOutMetrics(vae, validation, decode, evaluator, options.MaxTokens, settings.Training.Seed)), recommended);
    }

    private Func<IReadOnlyList<int[]>, IReadOnlyList<string>> Decoder(string vocabularyVersion, CancellationToken token) =>
        samples => tokenizer.DecodeAsync(samples, vocabularyVersion, token).GetAwaiter().GetResult();

    private static Dictionary<string, double> Merge(Dictionary<string, double> into, IReadOnlyDictionary<string, double> more)
    {
        foreach (var (name, value) in more)
        {
            into[name] = value;
        }
        return into;
    }

    /// <summary>The VAE phase; the trainer ends holding the epoch the run goes on with.</summary>
    private static void TrainVae(RunContext context, VaeTrainer trainer, IReadOnlyList<int[]> validation, CancellationToken token)
    {
        var runId = context.Run.RunId;
        var checkpoint = context.Runs.LatestCheckpoint(runId, RunPhases.Vae);
        if (checkpoint is not null)
        {
            trainer.LoadCheckpoint(checkpoint);
            context.Logger.LogInformation("Run {RunId} resumes from {Checkpoint}", runId, checkpoint);
        }
        context.SetRecord(r => r with { TotalSteps = trainer.TotalSteps, Step = trainer.Position.Step, Epoch = trainer.Position.Epoch });
        context.Events.Publish(new PhaseStarted(runId, RunPhases.Vae, DateTimeOffset.UtcNow));
        context.ReportPhase(RunPhases.Vae, checkpoint is null ? "training" : $"resumed from step {trainer.Position.Step}");

        var final = new VaePhase(context).Run(trainer, validation, token);
        context.SetRecord(r => r with { Validation = final });
        var phaseMetrics = RunContext.VaeMetrics(final, context.Record.BestEpoch ?? trainer.Position.Epoch, trainer.Position.Step);
        context.CompletePhase(RunPhases.Vae, phaseMetrics);
    }

    private static JsonObject RunDetails(RunSettings settings, RecommendedSampling sampling) => new()
    {
        [RecommendedSampling.Section] = sampling.ToJson(),
        ["corpus"] = settings.Corpus,
        ["preset"] = settings.Preset,
        ["validation_fraction"] = settings.ValidationFraction,
        ["split_seed"] = settings.SplitSeed,
    };

    /// <summary>
    /// A deterministic held-out split (indices into the corpus) that holds out near-duplicate groups
    /// together: the same corpus and split seed always hold out the same sentences.
    /// </summary>
    internal static HeldOutSplit Split(IReadOnlyList<string> lines, RunSettings settings) =>
        HeldOutSplit.Create(lines, settings.ValidationFraction, Seeds.DeriveInt(settings.SplitSeed, SeedStream.HeldOutSplit, index: 0));

    /// <summary>How unseen the held-out text is: its sizes and the share of its 4-grams found in the training text.</summary>
    private static Dictionary<string, double> SplitMetrics(HeldOutSplit heldOutSplit, CorpusSplit split) => new()
    {
        ["split_train_sentences"] = heldOutSplit.Train.Length,
        ["split_heldout_sentences"] = heldOutSplit.HeldOut.Length,
        ["split_set_aside_sentences"] = heldOutSplit.SetAside.Length,
        ["heldout_4gram_overlap"] = HeldOutSplit.NgramOverlap(split.HeldOut, split.Train),
    };
}
