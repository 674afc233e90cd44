using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.TestSupport;

/// <summary>Compares what two runs' models are (their quality metrics), leaving out how fast they trained.</summary>
public static class ModelMetrics
{
    /// <summary>Each metric that differs or that one run lacks, as "name: expected vs actual"; empty when the models measure the same.</summary>
    public static IReadOnlyList<string> Differences(RunInfo expected, RunInfo actual)
    {
        var (left, right) = (Of(expected), Of(actual));
        if (left.Count == 0)
        {
            throw new ArgumentException("the expected run has no model metrics: there is nothing to compare", nameof(expected));
        }
        return left.Keys.Union(right.Keys).Order(StringComparer.Ordinal)
            .Where(name => !(left.TryGetValue(name, out var a) && right.TryGetValue(name, out var b) && a.Equals(b)))
            .Select(name => $"{name}: {Show(left, name)} vs {Show(right, name)}")
            .ToArray();
    }

    private static Dictionary<string, double> Of(RunInfo run) =>
        run.Metrics.Where(m => !m.Key.Contains("second", StringComparison.Ordinal)).ToDictionary();

    private static string Show(Dictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out var value) ? value.ToString("R", CultureInfo.InvariantCulture) : "absent";
}
