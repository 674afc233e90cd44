namespace LlmMesh.Generator.Generation;

/// <summary>How the points between two codes are placed.</summary>
public enum InterpolationMethod
{
    /// <summary>Along the great circle (White, 2016): points keep a norm like the ends', where prior samples lie; the default.</summary>
    Slerp,
    /// <summary>The straight line (Bowman et al., 2016): middle points have a smaller norm than the ends.</summary>
    Linear,
}

/// <summary>Points on the path between two latent codes, ends included.</summary>
public static class LatentPath
{
    public const int MinSteps = 2;
    public const int MaxSteps = 64;

    public static InterpolationMethod ParseMethod(string method) => method switch
    {
        "" or "slerp" => InterpolationMethod.Slerp,
        "linear" => InterpolationMethod.Linear,
        _ => throw new ArgumentException($"method must be \"slerp\" or \"linear\", not \"{method}\""),
    };

    /// <summary><paramref name="steps"/> points from <paramref name="start"/> (t = 0) to <paramref name="end"/> (t = 1), evenly spaced in t.</summary>
    public static IReadOnlyList<(double T, float[] Code)> Points(float[] start, float[] end, int steps, InterpolationMethod method)
    {
        if (start.Length != end.Length)
        {
            throw new ArgumentException($"the path's ends have different sizes ({start.Length} and {end.Length})");
        }
        if (steps is < MinSteps or > MaxSteps)
        {
            throw new ArgumentException($"steps must be between {MinSteps} and {MaxSteps}, not {steps}");
        }
        return Enumerable.Range(0, steps).Select(i =>
        {
            var t = i / (double)(steps - 1);
            return (t, i == 0 ? (float[])start.Clone() : i == steps - 1 ? (float[])end.Clone() : Point(start, end, t, method));
        }).ToArray();
    }

    private static float[] Point(float[] a, float[] b, double t, InterpolationMethod method)
    {
        var (wa, wb) = (1 - t, t);
        if (method == InterpolationMethod.Slerp)
        {
            double dot = 0, na = 0, nb = 0;
            for (var i = 0; i < a.Length; i++)
            {
                dot += a[i] * (double)b[i];
                na += a[i] * (double)a[i];
                nb += b[i] * (double)b[i];
            }
            var omega = Math.Acos(Math.Clamp(dot / Math.Sqrt(na * nb), -1, 1));
            // Nearly parallel (or a zero end): the great circle is the line.
            if (na > 0 && nb > 0 && Math.Sin(omega) > 1e-6)
            {
                (wa, wb) = (Math.Sin((1 - t) * omega) / Math.Sin(omega), Math.Sin(t * omega) / Math.Sin(omega));
            }
        }
        var point = new float[a.Length];
        for (var i = 0; i < a.Length; i++)
        {
            point[i] = (float)(wa * a[i] + wb * b[i]);
        }
        return point;
    }
}
