using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.ModelStore;

namespace LlmMesh.Trainer.Tests;

public sealed class TrainerResumeTests : IAsyncLifetime
{
    private readonly TrainerFolders _interrupted = new();
    private readonly TrainerFolders _uninterrupted = new();
    private InProcessTokenizer _tokenizer = null!;

    public async Task InitializeAsync() => _tokenizer = await InProcessTokenizer.StartAsync(TrainerFolders.Corpus);

    [Fact]
    public async Task A_run_interrupted_by_a_restart_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_run()
    {
        // Long enough (10 x 17 steps) that the restart lands well before the end.
        var request = TrainerServiceFactory.TinyRun(epochs: 10, seed: 42);

        var runId = "";
        await using (var first = new TrainerServiceFactory(_interrupted, _tokenizer))
        {
            using var call = first.CreateTrainerClient().StartRun(request);
            // Stop the service once a mid-epoch checkpoint exists (step 20).
            while (await call.ResponseStream.MoveNext())
            {
                var update = call.ResponseStream.Current.Update;
                runId = update.RunId;
                if (update.Step >= 21)
                {
                    break;
                }
            }
        }
        Assert.True(Directory.EnumerateDirectories(Path.Combine(_interrupted.RunsDirectory, runId, "checkpoints")).Any());

        RunInfo resumed;
        await using (var second = new TrainerServiceFactory(_interrupted, _tokenizer))
        {
            using var watch = second.CreateTrainerClient().WatchRun(new WatchRunRequest { RunId = runId });
            var (updates, final) = await second.ReadToEndAsync(watch.ResponseStream);
            resumed = final;
            Assert.Contains(updates, u => u.Message.StartsWith("resumed from step", StringComparison.Ordinal));
        }
        RunOutcome.AssertCompleted(resumed);

        RunInfo straight;
        await using (var reference = new TrainerServiceFactory(_uninterrupted, _tokenizer))
        {
            using var call = reference.CreateTrainerClient().StartRun(request);
            (_, straight) = await reference.ReadToEndAsync(call.ResponseStream);
        }

        using var resumedModel = BundleModules.LoadVae(new ModelBundleStore(_interrupted.ModelStore).Open(resumed.BundleVersion, VaeBundle.Kind));
        using var straightModel = BundleModules.LoadVae(new ModelBundleStore(_uninterrupted.ModelStore).Open(straight.BundleVersion, VaeBundle.Kind));
        Assert.Equal(Weights(straightModel), Weights(resumedModel));
        Assert.Equal(straight.Validation.NllPerToken, resumed.Validation.NllPerToken);
        Assert.Empty(ModelMetrics.Differences(straight, resumed));
    }

    private static float[] Weights(SentenceVae model) => model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    public async Task DisposeAsync()
    {
        await _tokenizer.DisposeAsync();
        _interrupted.Dispose();
        _uninterrupted.Dispose();
    }
}
