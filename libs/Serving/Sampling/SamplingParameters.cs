namespace LlmMesh.Serving.Sampling;

/// <summary>The sampling controls users know from TGI and vLLM.</summary>
public sealed record SamplingParameters
{
    /// <summary>0 = greedy.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>0 = off.</summary>
    public int TopK { get; init; }
    /// <summary>1 = off.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>0 = off.</summary>
    public double MinP { get; init; }
    /// <summary>1 = off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Throws ArgumentException naming the first bad field.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Temperature) || Temperature < 0)
        {
            throw new ArgumentException($"temperature must be a finite number >= 0, not {Temperature}");
        }
        if (TopK < 0)
        {
            throw new ArgumentException($"top_k must be >= 0, not {TopK}");
        }
        if (!double.IsFinite(TopP) || TopP <= 0 || TopP > 1)
        {
            throw new ArgumentException($"top_p must be in (0, 1], not {TopP}");
        }
        if (!double.IsFinite(MinP) || MinP < 0 || MinP > 1)
        {
            throw new ArgumentException($"min_p must be in [0, 1], not {MinP}");
        }
        if (!double.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0)
        {
            throw new ArgumentException($"repetition_penalty must be a finite number > 0, not {RepetitionPenalty}");
        }
    }
}
