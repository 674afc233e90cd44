using System.Globalization;
using LlmMesh.Evaluation;

namespace LlmMesh.Eval;

/// <summary>The quality-diversity curve: one row of metrics per temperature, stored as sweep.csv.</summary>
public sealed record SweepTable(string Name, IReadOnlyList<SweepRow> Rows)
{
    public const string FileName = "sweep.csv";

    private static readonly string[] MetricColumns =
        ["bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5", "train_copy_rate", "forward_ppl", "reverse_ppl", "mean_words"];

    public void Write(string directory)
    {
        var lines = new List<string> { "temperature,samples," + string.Join(',', MetricColumns) };
        lines.AddRange(Rows.Select(row => string.Join(',',
            new[] { row.Temperature, row.Metrics["samples"] }.Concat(MetricColumns.Select(c => row.Metrics[c]))
                .Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        File.WriteAllLines(Path.Combine(directory, FileName), lines);
    }

    public static SweepTable Read(string directory, string name)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new EvalException($"{path} does not exist: --compare takes the output folder of an earlier evaluation with a sweep");
        }
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(line =>
        {
            var values = line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var metrics = header.Zip(values).ToDictionary(p => p.First, p => p.Second);
            return new SweepRow(metrics["temperature"], metrics);
        }).ToArray();
        return new SweepTable(name, rows);
    }

    public CurveSeries ToCurve() =>
        new(Name, Rows.OrderBy(r => r.Temperature).Select(r => new CurvePoint(r.Metrics["self_bleu4"], r.Metrics["bleu4"], $"T={r.Temperature:0.##}")).ToArray());
}

public sealed record SweepRow(double Temperature, IReadOnlyDictionary<string, double> Metrics);

/// <summary>A mistake in what the user asked for: printed as is, without a stack trace.</summary>
public sealed class EvalException(string message) : Exception(message);
