using System.Diagnostics.Metrics;

namespace LlmMesh.Trainer.Runs;

/// <summary>Training metrics for the dashboard (meter "LlmMesh.Trainer").</summary>
public sealed class TrainerMetrics
{
    public const string MeterName = "LlmMesh.Trainer";
    private readonly Counter<long> _steps;
    private readonly Counter<long> _tokens;
    private double _reconstruction;
    private double _kl;
    private double _klWeight;
    private double _tokensPerSecond;
    private double _validationNll;

    public TrainerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _steps = meter.CreateCounter<long>("llmmesh.trainer.steps", description: "Optimizer steps taken");
        _tokens = meter.CreateCounter<long>("llmmesh.trainer.tokens", unit: "{token}", description: "Tokens trained on");
        meter.CreateObservableGauge("llmmesh.trainer.reconstruction_loss", () => _reconstruction, unit: "nat/{token}",
            description: "Training reconstruction loss per token (recent average)");
        meter.CreateObservableGauge("llmmesh.trainer.kl", () => _kl, unit: "nat", description: "KL divergence per sentence (recent average)");
        meter.CreateObservableGauge("llmmesh.trainer.kl_weight", () => _klWeight, description: "Current KL weight (beta)");
        meter.CreateObservableGauge("llmmesh.trainer.tokens_per_second", () => _tokensPerSecond, unit: "{token}/s",
            description: "Training throughput");
        meter.CreateObservableGauge("llmmesh.trainer.validation_nll", () => _validationNll, unit: "nat/{token}",
            description: "Held-out negative ELBO per token after the last epoch");
    }

    public void Record(RunUpdate update, long steps, long tokens)
    {
        _steps.Add(steps);
        _tokens.Add(tokens);
        _reconstruction = update.ReconstructionPerToken;
        _kl = update.KlPerSentence;
        _klWeight = update.KlWeight;
        _tokensPerSecond = update.TokensPerSecond;
        if (update.Validation is { } validation)
        {
            _validationNll = validation.NllPerToken;
        }
    }
}
