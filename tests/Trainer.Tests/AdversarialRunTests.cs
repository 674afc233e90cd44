using Grpc.Core;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.ModelStore;

namespace LlmMesh.Trainer.Tests;

public sealed class AdversarialRunTests : InProcessTrainerTest
{
    private readonly TrainerFolders _reference = new();

    [Fact]
    public async Task A_run_goes_through_vae_adversarial_and_evaluation_and_publishes_an_arae_bundle()
    {
        var request = TrainerServiceFactory.TinyRun(epochs: 2, adversarialSteps: 60);
        request.Hyperparameters.SamplingBestOf = 2;
        request.Hyperparameters.UnconditionalRate = 0.3;
        request.Hyperparameters.SamplingLmWeight = 0.5;
        using var call = Service.CreateTrainerClient().StartRun(request);
        var (updates, final) = await Service.ReadToEndAsync(call.ResponseStream);

        RunOutcome.AssertCompleted(final);
        Assert.Equal(["tokenize", "vae", "adversarial", "evaluation", "publish"], updates.Select(u => u.Phase).Distinct());
        var adversarial = updates.Where(u => u.Phase == "adversarial" && u.Message.Length == 0).ToArray();
        Assert.NotEmpty(adversarial);
        Assert.All(adversarial, u => Assert.True(u.GradientPenalty >= 0 && double.IsFinite(u.CriticLoss) && double.IsFinite(u.GeneratorLoss)));
        var evaluation = Assert.Single(updates, u => u.Phase == "evaluation" && u.PhaseMetrics.Count > 0).PhaseMetrics;
        foreach (var metric in new[] { "critic_accuracy", "fluency_auc", "prior_distinct_1", "gan_distinct_2", "gan_mean_length", "critic_auc_real_vs_prior" })
        {
            Assert.True(evaluation.ContainsKey(metric), metric);
        }
        Assert.Contains("wasserstein_estimate", Assert.Single(updates, u => u.Phase == "adversarial" && u.PhaseMetrics.Count > 0).PhaseMetrics.Keys);

        var bundle = new ModelBundleStore(Folders.ModelStore).Open(final.BundleVersion, AraeBundle.Kind);
        using (BundleModules.LoadVae(bundle))
        using (BundleModules.LoadLatentGenerator(bundle))
        using (BundleModules.LoadCritic(bundle))
        using (BundleModules.LoadTextDiscriminator(bundle))
        {
            Assert.True(AraeBundle.ReadCalibration(bundle).Text.Weights.Length == 2);
        }
        Assert.Equal(evaluation["fluency_auc"], final.Metrics["fluency_auc"]);
        // The recommended sampling reranks two candidates per sample, as its metrics were measured.
        Assert.Equal(2, RecommendedSampling.Read(bundle.Manifest).BestOf);
        Assert.Equal(2, final.Metrics["recommended_best_of"]);
        // Trained with codes withheld, its decoder is also a plain language model, mixed into the recommended sampling.
        Assert.True(LanguageModelMix.IsLanguageModel(bundle));
        Assert.Equal(0.5, RecommendedSampling.Read(bundle.Manifest).LmWeight);
        Assert.Equal(0.5, final.Metrics["recommended_lm_weight"]);

        var phases = Service.Harness.Published.Select(_ => true).Select(m => m.MessageObject).ToArray();
        Assert.Equal(["vae", "adversarial", "evaluation"], phases.OfType<PhaseStarted>().Where(p => p.RunId == final.RunId).Select(p => p.Phase));
        Assert.Equal(["vae", "adversarial", "evaluation"], phases.OfType<PhaseCompleted>().Where(p => p.RunId == final.RunId).Select(p => p.Phase));
        Assert.Equal(AraeBundle.Kind, phases.OfType<ModelPublished>().Single(p => p.RunId == final.RunId).Kind);
    }

    [Fact]
    public async Task A_run_can_start_from_a_vae_bundle_and_train_only_the_adversarial_phase()
    {
        var client = Service.CreateTrainerClient();
        using var vaeRun = client.StartRun(TrainerServiceFactory.TinyRun(epochs: 1));
        var (_, vae) = await Service.ReadToEndAsync(vaeRun.ResponseStream);
        Assert.Equal(VaeBundle.Kind, new ModelBundleStore(Folders.ModelStore).Open(vae.BundleVersion, VaeBundle.KindsWithVae).Manifest.Kind);

        var request = TrainerServiceFactory.TinyRun(adversarialSteps: 40);
        request.StartFromBundle = vae.BundleVersion;
        using var call = client.StartRun(request);
        var (updates, final) = await Service.ReadToEndAsync(call.ResponseStream);

        RunOutcome.AssertCompleted(final);
        Assert.DoesNotContain(updates, u => u.Phase == "vae");
        var bundle = new ModelBundleStore(Folders.ModelStore).Open(final.BundleVersion, AraeBundle.Kind);
        using var started = BundleModules.LoadVae(new ModelBundleStore(Folders.ModelStore).Open(vae.BundleVersion, VaeBundle.KindsWithVae));
        using var published = BundleModules.LoadVae(bundle);
        Assert.Equal(Weights(started), Weights(published)); // the given VAE, unchanged

        request.StartFromBundle = "20990101T000000Z-missing";
        var missing = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var failing = client.StartRun(request);
            await failing.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("start_from_bundle", missing.Status.Detail);
    }

    [Fact]
    public async Task A_run_interrupted_in_the_adversarial_phase_resumes_there_and_ends_as_an_uninterrupted_run()
    {
        // The adversarial phase checkpoints every checkpoint_every_steps GAN steps, as the VAE phase does. The
        // service keeps training until it has stopped, so the last checkpoint may be any multiple of 300 from 600
        // on; 2,400 steps leave it far from the end.
        const int checkpointEvery = 300;
        var request = TrainerServiceFactory.TinyRun(epochs: 1, seed: 8, adversarialSteps: 2400);
        request.Hyperparameters.CheckpointEverySteps = checkpointEvery;
        string runId;
        await using (var first = new TrainerServiceFactory(Folders, Tokenizer))
        {
            using var call = first.CreateTrainerClient().StartRun(request);
            runId = "";
            while (await call.ResponseStream.MoveNext())
            {
                var update = call.ResponseStream.Current.Update;
                runId = update.RunId;
                if (update.Phase == "adversarial" && update.Step >= 620)
                {
                    break; // checkpoints exist at 300 and 600
                }
            }
        }
        RunInfo resumed;
        await using (var second = new TrainerServiceFactory(Folders, Tokenizer))
        {
            using var watch = second.CreateTrainerClient().WatchRun(new WatchRunRequest { RunId = runId });
            var (updates, final) = await second.ReadToEndAsync(watch.ResponseStream);
            resumed = final;
            var resumedAt = updates.Select(u => System.Text.RegularExpressions.Regex.Match(u.Message, @"^resumed from adversarial step (\d+)"))
                .Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value)).Single();
            Assert.True(resumedAt % checkpointEvery == 0 && resumedAt is >= 600 and < 2400, $"resumed from step {resumedAt}");
            Assert.DoesNotContain(updates, u => u.Phase == "vae" && u.Message.Length == 0);
        }
        RunInfo straight;
        await using (var reference = new TrainerServiceFactory(_reference, Tokenizer))
        {
            using var call = reference.CreateTrainerClient().StartRun(request);
            (_, straight) = await reference.ReadToEndAsync(call.ResponseStream);
        }

        RunOutcome.AssertCompleted(resumed);
        RunOutcome.AssertCompleted(straight);
        using var a = BundleModules.LoadLatentGenerator(new ModelBundleStore(Folders.ModelStore).Open(resumed.BundleVersion, AraeBundle.Kind));
        using var b = BundleModules.LoadLatentGenerator(new ModelBundleStore(_reference.ModelStore).Open(straight.BundleVersion, AraeBundle.Kind));
        Assert.Equal(Weights(b), Weights(a));
        Assert.Empty(ModelMetrics.Differences(straight, resumed));
    }

    private static float[] Weights(TorchSharp.torch.nn.Module module) => module.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _reference.Dispose();
    }
}
