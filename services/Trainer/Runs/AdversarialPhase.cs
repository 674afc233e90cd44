using System.Diagnostics;
using LlmMesh.Contracts.Events;
using LlmMesh.Model;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// The adversarial phase: the latent GAN trained with WGAN-GP against the VAE's codes, with a
/// checkpoint every checkpoint_every_steps GAN steps (as the VAE phase) and at the end.
/// </summary>
public sealed class AdversarialPhase(RunContext context)
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(15);

    /// <summary>Trains to the end (resuming from the phase's last checkpoint) and returns the phase's metrics.</summary>
    public IReadOnlyDictionary<string, double> Run(LatentGanTrainer gan, CancellationToken token)
    {
        var run = context.Run;
        var checkpoint = context.Runs.LatestCheckpoint(run.RunId, RunPhases.Adversarial);
        if (checkpoint is not null)
        {
            gan.LoadCheckpoint(checkpoint);
            context.ReportPhase(RunPhases.Adversarial, $"resumed from adversarial step {gan.Position.Step}");
        }
        var window = new List<AdversarialStepMetrics>();
        var last = new List<AdversarialStepMetrics>();
        var sinceReport = Stopwatch.StartNew();
        var sinceLog = Stopwatch.StartNew();
        while (!gan.IsFinished)
        {
            token.ThrowIfCancellationRequested();
            var step = gan.TrainStep();
            window.Add(step);
            if (step.Step % context.Settings.CheckpointEverySteps == 0 || gan.IsFinished)
            {
                var location = context.Runs.SaveCheckpoint(run.RunId, RunPhases.Adversarial, step.Step, gan.SaveCheckpoint);
                context.Events.Publish(new CheckpointSaved(run.RunId, step.Step, context.Record.Epoch, location, DateTimeOffset.UtcNow));
            }
            if (sinceReport.Elapsed >= ReportInterval || gan.IsFinished)
            {
                var average = Average(window, step.Step);
                var seconds = window.Sum(w => w.Seconds);
                var eta = (gan.Options.Steps - step.Step) * seconds / window.Count;
                run.Report(RunUpdate.AdversarialProgress(context.Record, step.Step, gan.Options.Steps, average, eta));
                if (sinceLog.Elapsed >= LogInterval)
                {
                    context.Logger.LogInformation(
                        "Run {RunId} adversarial step {Step}/{Total}: critic loss {Critic:F3}, Wasserstein estimate {Wasserstein:F3}, gradient penalty {Penalty:F4}, generator loss {Generator:F3}, ETA {Eta:F0} s",
                        run.RunId, step.Step, gan.Options.Steps, average.CriticLoss, average.WassersteinEstimate, average.GradientPenalty, average.GeneratorLoss, eta);
                    sinceLog.Restart();
                }
                last = window;
                window = [];
                sinceReport.Restart();
            }
        }
        var final = Average(last.Count > 0 ? last : window, gan.Position.Step);
        return new Dictionary<string, double>
        {
            ["adversarial_steps"] = gan.Position.Step,
            ["critic_loss"] = final.CriticLoss,
            ["wasserstein_estimate"] = final.WassersteinEstimate,
            ["gradient_penalty"] = final.GradientPenalty,
            ["generator_loss"] = final.GeneratorLoss,
        };
    }

    private static AdversarialStepMetrics Average(IReadOnlyList<AdversarialStepMetrics> steps, long step) =>
        steps.Count == 0
            ? new AdversarialStepMetrics(step, 0, 0, 0, 0, 0)
            : new AdversarialStepMetrics(step, steps.Average(s => s.CriticLoss), steps.Average(s => s.WassersteinEstimate),
                steps.Average(s => s.GradientPenalty), steps.Average(s => s.GeneratorLoss), steps.Sum(s => s.Seconds));
}
