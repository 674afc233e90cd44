using Grpc.Core;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.ModelStore;

namespace LlmMesh.Trainer.Tests;

public sealed class TrainerServiceTests : InProcessTrainerTest
{
    [Fact]
    public async Task A_run_streams_progress_then_publishes_a_bundle_that_loads()
    {
        var client = Service.CreateTrainerClient();

        var request = TrainerServiceFactory.TinyRun(epochs: 2);
        request.Hyperparameters.KeptEpochTolerance = 1;
        using var call = client.StartRun(request);
        var (updates, final) = await Service.ReadToEndAsync(call.ResponseStream);

        RunOutcome.AssertCompleted(final);
        Assert.Contains(updates, u => u.Phase == "tokenize");
        var training = updates.Where(u => u.Phase == "vae" && u.Step > 0 && u.Message.Length == 0).ToArray();
        Assert.Contains(updates, u => u.Phase == "vae" && u.PhaseMetrics.ContainsKey("validation_nll_per_token"));
        Assert.NotEmpty(training);
        Assert.All(training, u =>
        {
            Assert.Equal(final.RunId, u.RunId);
            Assert.True(u.ReconstructionLoss > 0 && u.TokensPerSecond > 0 && u.EtaSeconds >= 0 && u.TotalSteps == final.TotalSteps);
        });
        var epochEnds = training.Where(u => u.Validation is not null).ToArray();
        Assert.Equal(2, epochEnds.Length); // one held-out evaluation per epoch
        Assert.True(epochEnds[^1].Validation.NllPerToken > 0);
        // The run goes on with the epoch the choice picks from these evaluations, and reports its metrics.
        var kept = KeptEpochChoiceTests.KeptEpoch(epochEnds.Select(u => (u.Validation.NllPerToken, u.Validation.GreedyReconstructionAccuracy)).ToArray(), 1);
        Assert.Equal(kept, final.Metrics["epoch"]);
        Assert.Equal(epochEnds[kept].Validation, final.Validation);
        Assert.Equal(final.TotalSteps, final.Step);
        Assert.Equal(5ul, final.Seed);

        var store = new ModelBundleStore(Folders.ModelStore);
        var bundle = store.Open(final.BundleVersion, VaeBundle.Kind);
        Assert.Equal(bundle.Directory, final.BundleLocation);
        Assert.Equal(final.VocabularyVersion, bundle.Manifest.TokenizerVersion);
        Assert.Equal(final.Validation.NllPerToken, bundle.Manifest.Metrics["validation_nll_per_token"]);
        using var model = BundleModules.LoadVae(bundle);
        Assert.Equal(32, model.Config.HiddenSize);
        Assert.False(Directory.Exists(Path.Combine(Folders.RunsDirectory, final.RunId, "checkpoints")));

        // The evaluation phase scored samples against the held-out split that the bundle carries.
        Assert.Contains(updates, u => u.Phase == "evaluation" && u.PhaseMetrics.ContainsKey("bleu4"));
        var metrics = bundle.Manifest.Metrics;
        foreach (var metric in new[]
        {
            "bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5", "train_copy_rate",
            "reconstruction_bleu4", "prompt_bleu4", "nonword_sentence_rate", "heldout_4gram_overlap",
        })
        {
            Assert.InRange(metrics[metric], 0, 1);
        }
        Assert.True(metrics["forward_ppl"] > 1 && metrics["reverse_ppl"] > 1 && metrics["prompt_forward_ppl"] > 1);
        Assert.Equal(60, metrics["samples"]);

        // The held-out split: near-duplicates of held-out lines are set aside, on neither side.
        var split = CorpusSplit.Read(bundle)!;
        Assert.Equal((int)metrics["split_train_sentences"], split.Train.Count);
        Assert.Equal((int)metrics["split_heldout_sentences"], split.HeldOut.Count);
        Assert.Equal(TrainerFolders.Corpus.Count, split.Train.Count + split.HeldOut.Count + (int)metrics["split_set_aside_sentences"]);
        Assert.Empty(split.Train.Intersect(split.HeldOut));
        Assert.Subset(TrainerFolders.Corpus.ToHashSet(), split.Train.Concat(split.HeldOut).ToHashSet());
        Assert.Equal(split.HeldOut.Count, (int)metrics["references"]);

        // The sampling settings chosen on the held-out split are recorded and are what its metrics were measured with.
        var sampling = RecommendedSampling.Read(bundle.Manifest);
        Assert.Equal((metrics["recommended_temperature"], metrics["recommended_top_p"], metrics["recommended_min_p"]),
            (sampling.Temperature, sampling.TopP, sampling.MinP));
        Assert.InRange(sampling.Temperature, SamplingSelection.MinTemperature, SamplingSelection.MaxTemperature);
    }

    [Fact]
    public async Task The_plain_language_model_baseline_trains_through_the_same_trainer()
    {
        var request = TrainerServiceFactory.TinyRun(epochs: 2);
        request.Hyperparameters.PlainLanguageModel = true;
        request.Hyperparameters.ClearAdversarialSteps();
        using var call = Service.CreateTrainerClient().StartRun(request);
        var (_, final) = await Service.ReadToEndAsync(call.ResponseStream);

        RunOutcome.AssertCompleted(final);
        var bundle = new ModelBundleStore(Folders.ModelStore).Open(final.BundleVersion, VaeBundle.Kind);
        Assert.False(VaeBundle.ReadConfig(bundle).UsesLatent);
        Assert.Equal(0, bundle.Manifest.Metrics["validation_kl_per_sentence"]);
        Assert.True(bundle.Manifest.Metrics["bleu2"] > 0);
    }

    [Fact]
    public async Task A_run_publishes_every_training_event_once_with_stable_ids()
    {
        var client = Service.CreateTrainerClient();
        using var call = client.StartRun(TrainerServiceFactory.TinyRun(epochs: 2));
        var (_, final) = await Service.ReadToEndAsync(call.ResponseStream);
        var harness = Service.Harness;

        Assert.True(await harness.Published.Any<RunCompleted>(m => m.Context.Message.RunId == final.RunId));
        var events = harness.Published.Select(_ => true).Where(m => m.MessageObject is ITrainingEvent e && e.RunId == final.RunId).ToArray();
        Assert.Single(events, m => m.MessageObject is RunStarted);
        Assert.Equal([0, 1], events.Select(m => m.MessageObject).OfType<EpochCompleted>().Select(e => e.Epoch).Order());
        Assert.NotEmpty(events.Select(m => m.MessageObject).OfType<CheckpointSaved>());
        var published = Assert.Single(events.Select(m => m.MessageObject).OfType<ModelPublished>());
        Assert.Equal(final.BundleVersion, published.BundleVersion);
        Assert.Equal(VaeBundle.Kind, published.Kind);
        Assert.Single(events, m => m.MessageObject is RunCompleted);
        // The message id is the event's stable id, so a consumer can drop a re-published duplicate.
        Assert.All(events, m => Assert.Equal(((IMeshEvent)m.MessageObject).EventId, m.Context.MessageId));
        Assert.Equal(events.Length, events.Select(m => m.Context.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Runs_can_be_listed_fetched_watched_after_the_end_and_cancelled()
    {
        var client = Service.CreateTrainerClient();
        using var first = client.StartRun(TrainerServiceFactory.TinyRun(epochs: 1));
        var (_, completed) = await Service.ReadToEndAsync(first.ResponseStream);

        var fetched = await client.GetRunAsync(new GetRunRequest { RunId = completed.RunId });
        Assert.Equal(completed.BundleVersion, fetched.BundleVersion);
        using var watch = client.WatchRun(new WatchRunRequest { RunId = completed.RunId });
        var (watchedUpdates, watchedFinal) = await Service.ReadToEndAsync(watch.ResponseStream);
        Assert.Empty(watchedUpdates);
        RunOutcome.AssertCompleted(watchedFinal);

        using var long_ = client.StartRun(TrainerServiceFactory.TinyRun(epochs: 200));
        Assert.True(await long_.ResponseStream.MoveNext());
        var runId = long_.ResponseStream.Current.Update.RunId;

        var busy = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var second = client.StartRun(TrainerServiceFactory.TinyRun());
            await second.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.FailedPrecondition, busy.StatusCode);
        Assert.Contains(runId, busy.Status.Detail);

        var listed = await client.ListRunsAsync(new ListRunsRequest());
        Assert.Equal([runId, completed.RunId], listed.Runs.Select(r => r.RunId));
        Assert.Equal(RunState.Running, listed.Runs[0].State);

        await client.CancelRunAsync(new CancelRunRequest { RunId = runId });
        var (_, cancelled) = await Service.ReadToEndAsync(long_.ResponseStream);
        Assert.Equal(RunState.Cancelled, cancelled.State);
        Assert.True(await Service.Harness.Published.Any<RunCancelled>(m => m.Context.Message.RunId == runId));

        var again = await Assert.ThrowsAsync<RpcException>(() => client.CancelRunAsync(new CancelRunRequest { RunId = runId }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
    }

    public static TheoryData<string, StatusCode, string> BadRequests => new()
    {
        { "corpus=nonexistent", StatusCode.NotFound, "nonexistent" },
        { "corpus=../../../etc/passwd", StatusCode.InvalidArgument, "outside" },
        { "corpus=/etc/passwd", StatusCode.InvalidArgument, "outside" },
        { "corpus=tiny/missing.txt", StatusCode.NotFound, "missing.txt" },
        { "preset=huge", StatusCode.InvalidArgument, "preset" },
        { "epochs=0", StatusCode.InvalidArgument, "epochs" },
        { "epochs=-3", StatusCode.InvalidArgument, "epochs" },
        { "steps=-1", StatusCode.InvalidArgument, "steps" },
        { "batch_size=0", StatusCode.InvalidArgument, "batch_size" },
        { "learning_rate=NaN", StatusCode.InvalidArgument, "learning_rate" },
        { "word_dropout=Infinity", StatusCode.InvalidArgument, "word_dropout" },
        { "free_bits=-1", StatusCode.InvalidArgument, "free_bits" },
        { "kept_epoch_tolerance=-0.1", StatusCode.InvalidArgument, "kept_epoch_tolerance" },
        { "kept_epoch_tolerance=1.5", StatusCode.InvalidArgument, "kept_epoch_tolerance" },
        { "kept_epoch_tolerance=NaN", StatusCode.InvalidArgument, "kept_epoch_tolerance" },
        { "bag_of_words_weight=-0.5", StatusCode.InvalidArgument, "bag_of_words_weight" },
        { "bag_of_words_weight=NaN", StatusCode.InvalidArgument, "bag_of_words_weight" },
        { "unconditional_rate=1", StatusCode.InvalidArgument, "unconditional_rate" },
        { "unconditional_rate=-0.1", StatusCode.InvalidArgument, "unconditional_rate" },
        { "hidden_size=-5", StatusCode.InvalidArgument, "hidden_size" },
        { "kl_schedule=bogus", StatusCode.InvalidArgument, "kl_schedule" },
        { "validation_fraction=0.9", StatusCode.InvalidArgument, "validation_fraction" },
        { "evaluation_samples=1", StatusCode.InvalidArgument, "evaluation_samples" },
        { "evaluation_samples=-4", StatusCode.InvalidArgument, "evaluation_samples" },
        { "plain_language_model=true", StatusCode.InvalidArgument, "adversarial" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_are_refused_with_a_precise_status_naming_the_problem(string change, StatusCode status, string mention)
    {
        var request = TrainerServiceFactory.TinyRun();
        var (field, value) = (change.Split('=')[0], change.Split('=')[1]);
        switch (field)
        {
            case "corpus": request.Corpus = value; break;
            case "preset": request.Preset = value; break;
            case "epochs": request.Epochs = int.Parse(value); break;
            case "steps": request.Steps = long.Parse(value); break;
            case "batch_size": request.BatchSize = int.Parse(value); break;
            case "learning_rate": request.Hyperparameters.LearningRate = double.Parse(value); break;
            case "word_dropout": request.Hyperparameters.WordDropout = double.Parse(value); break;
            case "free_bits": request.Hyperparameters.FreeBits = double.Parse(value); break;
            case "kept_epoch_tolerance": request.Hyperparameters.KeptEpochTolerance = double.Parse(value); break;
            case "bag_of_words_weight": request.Hyperparameters.BagOfWordsWeight = double.Parse(value); break;
            case "unconditional_rate": request.Hyperparameters.UnconditionalRate = double.Parse(value); break;
            case "hidden_size": request.Hyperparameters.HiddenSize = int.Parse(value); break;
            case "kl_schedule": request.Hyperparameters.KlSchedule = value; break;
            case "validation_fraction": request.Hyperparameters.ValidationFraction = double.Parse(value); break;
            case "evaluation_samples": request.Hyperparameters.EvaluationSamples = int.Parse(value); break;
            case "plain_language_model":
                request.Hyperparameters.PlainLanguageModel = bool.Parse(value);
                request.Hyperparameters.AdversarialSteps = 10;
                break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = Service.CreateTrainerClient().StartRun(request);
            await call.ResponseStream.MoveNext();
        });

        Assert.Equal(status, error.StatusCode);
        Assert.Contains(mention, error.Status.Detail);
        Assert.Empty((await Service.CreateTrainerClient().ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Theory]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("0123456789ab", StatusCode.NotFound)]
    [InlineData("../../etc", StatusCode.NotFound)]
    public async Task Unknown_or_malformed_run_ids_are_refused(string runId, StatusCode status)
    {
        var client = Service.CreateTrainerClient();

        Assert.Equal(status, (await Assert.ThrowsAsync<RpcException>(() => client.GetRunAsync(new GetRunRequest { RunId = runId }).ResponseAsync)).StatusCode);
        Assert.Equal(status, (await Assert.ThrowsAsync<RpcException>(() => client.CancelRunAsync(new CancelRunRequest { RunId = runId }).ResponseAsync)).StatusCode);
        Assert.Equal(status, (await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var watch = client.WatchRun(new WatchRunRequest { RunId = runId });
            await watch.ResponseStream.MoveNext();
        })).StatusCode);
    }
}

public sealed class DashboardCommandTests : InProcessTrainerTest
{
    [Fact]
    public async Task The_dashboard_command_starts_a_quick_run_once()
    {
        using var http = Service.CreateClient();

        var missingCorpus = await http.PostAsync("/commands/start-quick-run", null);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missingCorpus.StatusCode);

        Directory.CreateDirectory(Path.Combine(Folders.DataDirectory, "coco"));
        File.Copy(Path.Combine(Folders.DataDirectory, "tiny", "train.txt"), Path.Combine(Folders.DataDirectory, "coco", "train.txt"));
        var started = await http.PostAsync("/commands/start-quick-run", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.StatusCode);
        var runId = System.Text.Json.JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("runId").GetString()!;

        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await http.PostAsync("/commands/start-quick-run", null)).StatusCode);

        var client = Service.CreateTrainerClient();
        var run = await client.GetRunAsync(new GetRunRequest { RunId = runId });
        Assert.Equal("quick", run.Preset);
        await client.CancelRunAsync(new CancelRunRequest { RunId = runId });
    }
}
