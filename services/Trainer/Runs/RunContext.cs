using LlmMesh.Model;

namespace LlmMesh.Trainer.Runs;

/// <summary>What a phase of a run reports through: the run's record (persisted), its watchers, metrics, events and logs.</summary>
public sealed class RunContext(TrainingRun run, RunRepository runs, EventPublisher events, TrainerMetrics metrics, ILogger logger)
{
    public TrainingRun Run => run;
    public RunRecord Record => run.Record;
    public RunSettings Settings => run.Record.Settings;
    public RunRepository Runs => runs;
    public EventPublisher Events => events;
    public TrainerMetrics Metrics => metrics;
    public ILogger Logger => logger;

    public void SetRecord(Func<RunRecord, RunRecord> change)
    {
        run.UpdateRecord(change);
        runs.Save(run.Record);
    }

    public void ReportPhase(string phase, string message)
    {
        run.Report(RunUpdate.Note(run.Record, phase, message));
    }

    public void StartPhase(string phase)
    {
        SetRecord(r => r with { Phase = phase });
        events.Publish(new Contracts.Events.PhaseStarted(run.RunId, phase, DateTimeOffset.UtcNow));
        ReportPhase(phase, $"{phase} phase started");
    }

    public void CompletePhase(string phase, IReadOnlyDictionary<string, double> phaseMetrics)
    {
        events.Publish(new Contracts.Events.PhaseCompleted(run.RunId, phase, phaseMetrics, DateTimeOffset.UtcNow));
        run.Report(RunUpdate.Note(run.Record, phase, $"{phase} phase completed") with { PhaseMetrics = phaseMetrics });
        logger.LogInformation("Run {RunId} completed the {Phase} phase: {Metrics}", run.RunId, phase,
            string.Join(", ", phaseMetrics.Select(m => $"{m.Key} {m.Value:G4}")));
    }

    public static IReadOnlyDictionary<string, double> VaeMetrics(EvaluationMetrics evaluation, int epoch, long steps) => new Dictionary<string, double>
    {
        ["epoch"] = epoch,
        ["validation_nll_per_token"] = evaluation.NllPerToken,
        ["validation_perplexity"] = evaluation.Perplexity,
        ["validation_reconstruction_per_token"] = evaluation.ReconstructionPerToken,
        ["validation_kl_per_sentence"] = evaluation.KlPerSentence,
        ["reconstruction_accuracy"] = evaluation.ReconstructionAccuracy,
        ["greedy_reconstruction_accuracy"] = evaluation.GreedyReconstructionAccuracy,
        ["active_units"] = evaluation.ActiveUnits,
        ["validation_sentences"] = evaluation.Sentences,
        ["steps"] = steps,
    };
}
