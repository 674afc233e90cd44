using System.Diagnostics;
using LlmMesh.Contracts.Events;
using LlmMesh.Model;

namespace LlmMesh.Trainer.Runs;

/// <summary>
/// The VAE phase: optimizer steps with periodic checkpoints, a held-out evaluation at every epoch
/// end, and the weights of the epoch <see cref="KeptEpochChoice"/> picks kept (that is the VAE the
/// run goes on with).
/// </summary>
public sealed class VaePhase(RunContext context)
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(15);

    /// <summary>Trains to the end; leaves the kept epoch's weights in the trainer's model and returns their metrics.</summary>
    public EvaluationMetrics Run(VaeTrainer trainer, IReadOnlyList<int[]> validation, CancellationToken token)
    {
        var run = context.Run;
        var settings = context.Settings;
        var window = new Window();
        var epochWindow = new Window();
        var sinceReport = Stopwatch.StartNew();
        var sinceLog = Stopwatch.StartNew();
        EvaluationMetrics? lastEvaluation = null;
        var lastEvaluationKept = false;
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
                lastEvaluationKept = KeepIfChosen(trainer, step.Epoch, evaluation);
                context.Events.Publish(new EpochCompleted(run.RunId, step.Epoch, step.Step, epochWindow.Reconstruction, epochWindow.Kl,
                    evaluation.NllPerToken, evaluation.Perplexity, evaluation.KlPerSentence, evaluation.ReconstructionAccuracy,
                    evaluation.ActiveUnits, epochWindow.TokensPerSecond, DateTimeOffset.UtcNow, run.Record.Epochs));
                epochWindow = new Window();
            }
            if (epochEnded || position.Step % settings.CheckpointEverySteps == 0 || trainer.IsFinished)
            {
                var location = context.Runs.SaveCheckpoint(run.RunId, RunPhases.Vae, position.Step, trainer.SaveCheckpoint);
                context.SetRecord(r => r with { Step = position.Step, Epoch = position.Epoch, Validation = evaluation ?? r.Validation });
                context.Events.Publish(new CheckpointSaved(run.RunId, position.Step, position.Epoch, location, DateTimeOffset.UtcNow));
            }
            if (epochEnded || sinceReport.Elapsed >= ReportInterval || trainer.IsFinished)
            {
                var update = new RunUpdate(run.RunId, RunPhases.Vae, position.Step, trainer.TotalSteps, step.Epoch, run.Record.Epochs,
                    window.Reconstruction, window.Kl, step.KlWeight, window.TokensPerSecond,
                    window.EtaSeconds(trainer.TotalSteps - position.Step), evaluation);
                run.Report(update);
                context.Metrics.Record(update, window.Steps, window.Tokens);
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
            context.ReportPhase(RunPhases.Vae, "final held-out evaluation");
            lastEvaluation = trainer.Evaluate(validation);
            lastEvaluationKept = KeepIfChosen(trainer, trainer.Position.Epoch, lastEvaluation);
        }
        // Go on with the chosen epoch, not merely the last one (the full preset overfits late).
        if (!lastEvaluationKept && context.Record.BestValidation is { } kept)
        {
            trainer.Model.load(context.Runs.BestWeights(run.RunId));
            context.Logger.LogInformation(
                "Run {RunId} keeps epoch {Epoch} (held-out NLL {Kept:F3}, greedy reconstruction {KeptAccuracy:P1}) rather than the last (NLL {Last:F3}, {LastAccuracy:P1})",
                run.RunId, context.Record.BestEpoch, kept.NllPerToken, kept.GreedyReconstructionAccuracy,
                lastEvaluation.NllPerToken, lastEvaluation.GreedyReconstructionAccuracy);
            return kept;
        }
        return lastEvaluation;
    }

    /// <summary>Keeps this epoch's weights when <see cref="KeptEpochChoice"/> picks it over the kept one; true when it does.</summary>
    private bool KeepIfChosen(VaeTrainer trainer, int epoch, EvaluationMetrics evaluation)
    {
        var record = context.Record;
        var lowestNll = KeptEpochChoice.LowestNll(record.LowestNll, evaluation);
        if (!KeptEpochChoice.Replaces(record.BestValidation, record.LowestNll, evaluation, context.Settings.KeptEpochTolerance))
        {
            context.SetRecord(r => r with { LowestNll = lowestNll });
            return false;
        }
        context.Runs.SaveWeights(context.Runs.BestWeights(context.Run.RunId), trainer.Model);
        context.SetRecord(r => r with { BestValidation = evaluation, BestEpoch = epoch, LowestNll = lowestNll });
        return true;
    }

    private void LogProgress(RunUpdate update)
    {
        if (update.Validation is { } v)
        {
            context.Logger.LogInformation(
                "Run {RunId} epoch {Epoch} step {Step}/{Total}: held-out NLL {Nll:F3} nats/token (ppl {Perplexity:F1}), KL {Kl:F2} nats/sentence, reconstruction accuracy {Accuracy:P1}, active units {ActiveUnits}",
                update.RunId, update.Epoch, update.Step, update.TotalSteps, v.NllPerToken, v.Perplexity, v.KlPerSentence,
                v.ReconstructionAccuracy, v.ActiveUnits);
        }
        else
        {
            context.Logger.LogInformation(
                "Run {RunId} step {Step}/{Total}: reconstruction {Reconstruction:F3} nats/token, KL {Kl:F2}, beta {Beta:F2}, {TokensPerSecond:F0} tokens/s, ETA {Eta:F0} s",
                update.RunId, update.Step, update.TotalSteps, update.ReconstructionPerToken, update.KlPerSentence, update.KlWeight,
                update.TokensPerSecond, update.EtaSeconds);
        }
    }

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
