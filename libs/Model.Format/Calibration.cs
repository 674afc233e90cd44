namespace LlmMesh.Model;

/// <summary>
/// Logistic calibration p = sigmoid(bias + sum_i weights[i] * feature_i) fitted by Newton's method
/// with Platt's smoothed targets. One feature calibrates a raw score (Platt scaling); two combine
/// the latent critic with the text discriminator.
/// </summary>
public sealed record LogisticCalibration(double[] Weights, double Bias)
{
    public double Probability(params double[] features)
    {
        var logit = Bias;
        for (var i = 0; i < Weights.Length; i++)
        {
            logit += Weights[i] * features[i];
        }
        return 1.0 / (1.0 + Math.Exp(-logit));
    }

    public static LogisticCalibration Fit(IReadOnlyList<double[]> features, IReadOnlyList<bool> real, int iterations = 100)
    {
        if (features.Count != real.Count || features.Count == 0)
        {
            throw new ArgumentException("calibration needs as many labels as feature rows, and at least one");
        }
        var dimensions = features[0].Length;
        var positives = real.Count(r => r);
        var negatives = real.Count - positives;
        // Platt's targets keep the fit finite when the classes separate perfectly.
        var high = (positives + 1.0) / (positives + 2.0);
        var low = 1.0 / (negatives + 2.0);
        var theta = new double[dimensions + 1]; // bias last
        const double ridge = 1e-6;
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var gradient = new double[dimensions + 1];
            var hessian = new double[dimensions + 1, dimensions + 1];
            for (var n = 0; n < features.Count; n++)
            {
                var x = features[n].Append(1.0).ToArray();
                var logit = 0.0;
                for (var i = 0; i <= dimensions; i++)
                {
                    logit += theta[i] * x[i];
                }
                var p = 1.0 / (1.0 + Math.Exp(-logit));
                var error = p - (real[n] ? high : low);
                var weight = Math.Max(p * (1 - p), 1e-12);
                for (var i = 0; i <= dimensions; i++)
                {
                    gradient[i] += error * x[i];
                    for (var j = 0; j <= dimensions; j++)
                    {
                        hessian[i, j] += weight * x[i] * x[j];
                    }
                }
            }
            for (var i = 0; i <= dimensions; i++)
            {
                hessian[i, i] += ridge;
            }
            var delta = Solve(hessian, gradient);
            var change = 0.0;
            for (var i = 0; i <= dimensions; i++)
            {
                theta[i] -= delta[i];
                change = Math.Max(change, Math.Abs(delta[i]));
            }
            if (change < 1e-10)
            {
                break;
            }
        }
        return new LogisticCalibration(theta[..dimensions], theta[dimensions]);
    }

    /// <summary>Area under the ROC curve: the probability that a random positive outscores a random negative.</summary>
    public static double Auc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        double wins = 0;
        foreach (var p in positives)
        {
            foreach (var n in negatives)
            {
                wins += p > n ? 1 : p == n ? 0.5 : 0;
            }
        }
        return wins / (positives.Count * (double)negatives.Count);
    }

    private static double[] Solve(double[,] matrix, double[] vector)
    {
        var n = vector.Length;
        var a = (double[,])matrix.Clone();
        var b = (double[])vector.Clone();
        for (var column = 0; column < n; column++)
        {
            var pivot = Enumerable.Range(column, n - column).MaxBy(row => Math.Abs(a[row, column]));
            for (var k = 0; k < n; k++)
            {
                (a[column, k], a[pivot, k]) = (a[pivot, k], a[column, k]);
            }
            (b[column], b[pivot]) = (b[pivot], b[column]);
            for (var row = column + 1; row < n; row++)
            {
                var factor = a[row, column] / a[column, column];
                for (var k = column; k < n; k++)
                {
                    a[row, k] -= factor * a[column, k];
                }
                b[row] -= factor * b[column];
            }
        }
        var x = new double[n];
        for (var row = n - 1; row >= 0; row--)
        {
            var sum = b[row];
            for (var k = row + 1; k < n; k++)
            {
                sum -= a[row, k] * x[k];
            }
            x[row] = sum / a[row, row];
        }
        return x;
    }
}

/// <summary>How the discriminator turns raw scores into probabilities that an input is real.</summary>
public sealed record DiscriminatorCalibration(
    /// <summary>Latent inputs: p = sigmoid(w * critic + b).</summary>
    LogisticCalibration Latent,
    /// <summary>Text inputs: p = sigmoid(w1 * critic(mu) + w2 * text logit + b).</summary>
    LogisticCalibration Text);
