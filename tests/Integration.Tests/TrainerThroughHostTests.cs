using Aspire.Hosting.Testing;
using Grpc.Core;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class TrainerThroughHostTests(MeshFixture mesh)
{
    [Fact]
    public async Task A_tiny_run_streams_progress_publishes_a_bundle_and_every_event_reaches_a_consumer_exactly_once()
    {
        await using var recorder = await TrainingEventRecorder.StartAsync(mesh.App);
        var trainer = new Trainer.TrainerClient(mesh.Channel("trainer"));
        var request = new StartRunRequest
        {
            Corpus = "coco",
            Steps = 60,
            BatchSize = 256,
            Seed = 9,
            Hyperparameters = new Hyperparameters { EmbeddingSize = 32, HiddenSize = 48, LatentSize = 8, CheckpointEverySteps = 25, AdversarialSteps = 0, EvaluationSamples = 100 },
        };
        // The deadline only bounds a hang: the mesh's first run also learns the corpus vocabulary, and other hosts train alongside.
        using var call = trainer.StartRun(request, deadline: DateTime.UtcNow.AddMinutes(3));
        var updates = new List<ProgressUpdate>();
        RunInfo? final = null;
        await foreach (var progress in call.ResponseStream.ReadAllAsync())
        {
            if (progress.EventCase == RunProgress.EventOneofCase.Final)
            {
                final = progress.Final;
            }
            else
            {
                updates.Add(progress.Update);
            }
        }

        Assert.NotNull(final);
        RunOutcome.AssertCompleted(final);
        Assert.Equal(60, final.Step);
        Assert.Contains(updates, u => u.Phase == "tokenize");
        Assert.Contains(updates, u => u.Phase == "vae" && u.Step > 0 && u.TokensPerSecond > 0);
        var evaluation = Assert.Single(updates, u => u.Phase == "evaluation" && u.PhaseMetrics.Count > 0);
        Assert.InRange(evaluation.PhaseMetrics["bleu4"], 0, 1);
        Assert.Equal(100, evaluation.PhaseMetrics["samples"]);
        Assert.True(Directory.Exists(final.BundleLocation));
        Assert.StartsWith(Path.Combine(mesh.DataDirectory, "models", "bundles"), final.BundleLocation);

        var events = await recorder.CompletedRunAsync(final.RunId, TimeSpan.FromSeconds(30));

        Assert.Equal(events.Count, events.Select(e => e.MessageId).Distinct().Count());
        Assert.All(events, e => Assert.Equal(e.Event.EventId, e.MessageId));
        Assert.Single(events, e => e.Event is RunStarted);
        Assert.Single(events, e => e.Event is RunCompleted);
        var published = Assert.Single(events.Select(e => e.Event).OfType<ModelPublished>());
        Assert.Equal(final.BundleVersion, published.BundleVersion);
        Assert.Equal([0], events.Select(e => e.Event).OfType<EpochCompleted>().Select(e => e.Epoch));
        // Every 25 steps, at the end of the epoch (34 batches of 256: the quick preset holds out 5 % of
        // the captions and sets their near-duplicates aside) and at the end.
        Assert.Equal([25L, 34L, 50L, 60L], events.Select(e => e.Event).OfType<CheckpointSaved>().Select(c => c.Step).Order());
    }

    [Fact]
    public async Task A_run_can_be_cancelled_and_bad_requests_are_refused()
    {
        var trainer = new Trainer.TrainerClient(mesh.Channel("trainer"));

        var outside = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = trainer.StartRun(new StartRunRequest { Corpus = "../AppHost/appsettings.json" });
            await call.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.InvalidArgument, outside.StatusCode);
        var nan = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = trainer.StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { LearningRate = double.NaN } });
            await call.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.InvalidArgument, nan.StatusCode);
        Assert.Contains("learning_rate", nan.Status.Detail);

        using var run = trainer.StartRun(new StartRunRequest { Corpus = "coco", Epochs = 50, Seed = 3 });
        Assert.True(await run.ResponseStream.MoveNext());
        var runId = run.ResponseStream.Current.Update.RunId;
        var cancelled = await trainer.CancelRunAsync(new CancelRunRequest { RunId = runId });
        Assert.Equal(runId, cancelled.RunId);

        RunInfo? final = null;
        await foreach (var progress in run.ResponseStream.ReadAllAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
        {
            final = progress.EventCase == RunProgress.EventOneofCase.Final ? progress.Final : final;
        }
        Assert.Equal(RunState.Cancelled, final?.State);
        Assert.Equal(RunState.Cancelled, (await trainer.GetRunAsync(new GetRunRequest { RunId = runId })).State);
    }
}
