using System.Numerics.Tensors;

namespace LlmMesh.Serving.Sampling;

/// <summary>
/// Picks the next token from one row of logits: banned tokens out, repetition penalty,
/// temperature (0 = greedy), top-k, top-p, min-p, then one draw. The same logits, history and
/// random state always give the same token.
/// </summary>
public sealed class TokenSampler(SamplingParameters parameters, IReadOnlyCollection<int> bannedTokens)
{
    private float[] _probabilities = [];
    private int[] _order = [];

    public SamplingParameters Parameters => parameters;

    /// <param name="logits">Modified in place.</param>
    /// <param name="generated">Tokens generated so far (for the repetition penalty).</param>
    public int Sample(Span<float> logits, IReadOnlyCollection<int> generated, SplitMixRandom random)
    {
        foreach (var banned in bannedTokens)
        {
            logits[banned] = float.NegativeInfinity;
        }
        if (parameters.RepetitionPenalty != 1.0)
        {
            var penalty = (float)parameters.RepetitionPenalty;
            foreach (var token in generated.Distinct())
            {
                logits[token] = logits[token] > 0 ? logits[token] / penalty : logits[token] * penalty;
            }
        }
        if (parameters.Temperature == 0)
        {
            return TensorPrimitives.IndexOfMax(logits);
        }

        TensorPrimitives.Divide(logits, (float)parameters.Temperature, logits);
        if (parameters.TopK > 0 && parameters.TopK < logits.Length)
        {
            KeepTopK(logits, parameters.TopK);
        }
        if (_probabilities.Length != logits.Length)
        {
            _probabilities = new float[logits.Length];
            _order = new int[logits.Length];
        }
        var probabilities = _probabilities.AsSpan();
        TensorPrimitives.SoftMax(logits, probabilities);

        if (parameters.TopP < 1.0)
        {
            KeepNucleus(probabilities, parameters.TopP);
        }
        if (parameters.MinP > 0)
        {
            var floor = (float)parameters.MinP * TensorPrimitives.Max(probabilities);
            for (var i = 0; i < probabilities.Length; i++)
            {
                if (probabilities[i] < floor)
                {
                    probabilities[i] = 0;
                }
            }
        }
        return LlmMesh.Model.WeightedDraw.Index(probabilities, random.NextDouble());
    }

    private static void KeepTopK(Span<float> logits, int k)
    {
        // The k-th largest value; ties at the threshold are kept.
        var sorted = logits.ToArray();
        Array.Sort(sorted);
        var threshold = sorted[^k];
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] < threshold)
            {
                logits[i] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>Keeps the smallest set of most likely tokens whose probability reaches <paramref name="topP"/>.</summary>
    private void KeepNucleus(Span<float> probabilities, double topP)
    {
        var order = _order;
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        var values = probabilities.ToArray();
        Array.Sort(order, (a, b) => values[b].CompareTo(values[a]) is var c and not 0 ? c : a.CompareTo(b));
        double cumulative = 0;
        var kept = 0;
        while (kept < order.Length && cumulative < topP)
        {
            cumulative += values[order[kept]];
            kept++;
        }
        for (var i = kept; i < order.Length; i++)
        {
            probabilities[order[i]] = 0;
        }
    }
}
