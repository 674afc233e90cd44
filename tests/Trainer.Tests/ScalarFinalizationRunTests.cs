using TorchSharp;

namespace LlmMesh.Trainer.Tests;

[CollectionDefinition(nameof(ScalarFinalizationRunTests), DisableParallelization = true)]
public sealed class ScalarFinalizationRunCollection;

/// <summary>
/// A whole run leaves no TorchSharp Scalar to the finalizer: every number the run hands a native op
/// is held until the op returns, so a collection on another thread (the host's, the broker's) cannot
/// free it mid-op and fail the run. Runs alone: other tests' Scalars would count.
/// </summary>
[Collection(nameof(ScalarFinalizationRunTests))]
public sealed class ScalarFinalizationRunTests : InProcessTrainerTest
{
    [Fact]
    public async Task A_run_through_every_phase_leaves_no_scalar_to_the_finalizer()
    {
        var request = TrainerServiceFactory.TinyRun(epochs: 1, adversarialSteps: 20);
        request.Hyperparameters.SamplingBestOf = 2;
        var client = Service.CreateTrainerClient();
        using var finalizations = new FinalizationCounter(typeof(Scalar));
        var before = finalizations.CollectAndCount();

        using var call = client.StartRun(request);
        var (_, final) = await Service.ReadToEndAsync(call.ResponseStream);

        RunOutcome.AssertCompleted(final);
        var leaked = finalizations.CollectAndCount() - before;
        Assert.True(leaked == 0, $"{leaked} Scalars reached the finalizer: an op was given a number instead of a held Scalar");
    }
}
