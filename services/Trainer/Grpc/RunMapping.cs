using LlmMesh.Contracts.V1;
using LlmMesh.Trainer.Runs;
using DomainEvaluation = LlmMesh.Model.EvaluationMetrics;

namespace LlmMesh.Trainer.Grpc;

internal static class RunMapping
{
    public static RunProgress ToProgress(this RunEvent runEvent) => runEvent switch
    {
        RunEvent.Update update => new RunProgress { Update = update.Value.ToMessage() },
        RunEvent.Final final => new RunProgress { Final = final.Record.ToInfo() },
        _ => throw new ArgumentOutOfRangeException(nameof(runEvent)),
    };

    public static ProgressUpdate ToMessage(this RunUpdate update)
    {
        var message = new ProgressUpdate
        {
            RunId = update.RunId,
            Phase = update.Phase,
            Step = update.Step,
            TotalSteps = update.TotalSteps,
            Epoch = update.Epoch,
            Epochs = update.Epochs,
            ReconstructionLoss = update.ReconstructionPerToken,
            Kl = update.KlPerSentence,
            KlWeight = update.KlWeight,
            TokensPerSecond = update.TokensPerSecond,
            EtaSeconds = update.EtaSeconds,
            Validation = update.Validation?.ToMessage(),
            Message = update.Message,
            CriticLoss = update.Adversarial?.CriticLoss ?? 0,
            WassersteinEstimate = update.Adversarial?.WassersteinEstimate ?? 0,
            GradientPenalty = update.Adversarial?.GradientPenalty ?? 0,
            GeneratorLoss = update.Adversarial?.GeneratorLoss ?? 0,
        };
        if (update.PhaseMetrics is { } phaseMetrics)
        {
            message.PhaseMetrics.Add(new Dictionary<string, double>(phaseMetrics));
        }
        return message;
    }

    public static RunInfo ToInfo(this RunRecord record)
    {
        var info = new RunInfo
        {
            RunId = record.RunId,
            State = record.Status switch
            {
                RunStatus.Pending => RunState.Pending,
                RunStatus.Running => RunState.Running,
                RunStatus.Completed => RunState.Completed,
                RunStatus.Failed => RunState.Failed,
                RunStatus.Cancelled => RunState.Cancelled,
                _ => RunState.Unspecified,
            },
            Preset = record.Settings.Preset,
            Corpus = record.Settings.Corpus,
            Model = record.Settings.Model.Length > 0 ? record.Settings.Model : LlmMesh.ModelStore.BundleManifest.LegacyModel,
            Step = record.Step,
            TotalSteps = record.TotalSteps,
            Epoch = record.Epoch,
            Epochs = record.Epochs,
            Seed = unchecked((ulong)record.Settings.Training.Seed),
            CreatedAt = record.CreatedAt.ToString("O"),
            UpdatedAt = record.UpdatedAt.ToString("O"),
            BundleVersion = record.BundleVersion ?? "",
            BundleLocation = record.BundleLocation ?? "",
            Validation = record.Validation?.ToMessage(),
            Error = record.Error ?? "",
            VocabularyVersion = record.VocabularyVersion,
            SettingsJson = record.Settings.ToJson(),
            Phase = record.Phase,
        };
        if (record.Metrics is { } recordMetrics)
        {
            info.Metrics.Add(recordMetrics);
        }
        return info;
    }

    private static EvaluationMetrics ToMessage(this DomainEvaluation metrics) => new()
    {
        NllPerToken = metrics.NllPerToken,
        Perplexity = metrics.Perplexity,
        ReconstructionPerToken = metrics.ReconstructionPerToken,
        KlPerSentence = metrics.KlPerSentence,
        ReconstructionAccuracy = metrics.ReconstructionAccuracy,
        GreedyReconstructionAccuracy = metrics.GreedyReconstructionAccuracy,
        ActiveUnits = metrics.ActiveUnits,
        Sentences = metrics.Sentences,
    };
}
