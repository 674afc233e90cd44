namespace LlmMesh.Model;

/// <summary>
/// Inverse-CDF sampling over one row of non-negative weights (they need not sum to 1), shared by
/// the serving sampler and the evaluation's batched sampler.
/// </summary>
public static class WeightedDraw
{
    /// <summary>
    /// The index whose share of the running total first passes <paramref name="uniform"/> in [0, 1);
    /// never one of weight 0 (rounding that passes the end takes the last positive weight).
    /// </summary>
    public static int Index(ReadOnlySpan<float> weights, double uniform)
    {
        double total = 0;
        foreach (var weight in weights)
        {
            total += weight;
        }
        var target = uniform * total;
        var last = -1;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0)
            {
                continue;
            }
            last = i;
            target -= weights[i];
            if (target < 0)
            {
                return i;
            }
        }
        return last >= 0 ? last : throw new InvalidOperationException("no token is left to sample");
    }
}
