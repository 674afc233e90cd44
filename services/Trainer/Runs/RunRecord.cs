using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using LlmMesh.Model;
using LlmMesh.ModelStore;

namespace LlmMesh.Trainer.Runs;

public enum RunStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>What is known about a run; persisted as run.json in the run's folder.</summary>
public sealed record RunRecord
{
    public required string RunId { get; init; }
    public required RunSettings Settings { get; init; }
    public RunStatus Status { get; init; } = RunStatus.Pending;
    /// <summary>"vae", "adversarial" or "evaluation": where a resumed run continues.</summary>
    public string Phase { get; init; } = RunPhases.Vae;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public int Epoch { get; init; }
    public string VocabularyVersion { get; init; } = "";
    public string CorpusSha256 { get; init; } = "";
    public string? BundleVersion { get; init; }
    public string? BundleLocation { get; init; }
    public EvaluationMetrics? Validation { get; init; }
    /// <summary>The held-out metrics of the epoch <see cref="KeptEpochChoice"/> keeps, and that epoch: the model a run publishes.</summary>
    public EvaluationMetrics? BestValidation { get; init; }
    public int? BestEpoch { get; init; }
    /// <summary>The lowest held-out NLL bound seen at an epoch end (null in records from before it was kept: read as the kept epoch's).</summary>
    public double? LowestNll { get; init; }
    public string? Error { get; init; }
    /// <summary>Metrics of the published model.</summary>
    public Dictionary<string, double>? Metrics { get; init; }

    [JsonIgnore]
    public bool IsFinished => Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled;

    [JsonIgnore]
    public int Epochs => Settings.Training.Steps > 0 ? 0 : Settings.Training.Epochs;
}

public static class RunPhases
{
    public const string Tokenize = "tokenize";
    public const string Vae = "vae";
    public const string Adversarial = "adversarial";
    public const string Evaluation = "evaluation";
    public const string Publish = "publish";
}

/// <summary>Run folders under the runs directory: run.json, checkpoints/{phase}/step-NNNNNNNNN, best.pt and vae.pt.</summary>
public sealed partial class RunRepository
{
    private const string RecordFile = "run.json";
    private const string CheckpointsFolder = "checkpoints";
    private const int CheckpointsKept = 2;
    private readonly string _root;

    public RunRepository(string runsDirectory)
    {
        _root = Path.GetFullPath(runsDirectory);
        Directory.CreateDirectory(_root);
    }

    public static string NewRunId() => Guid.NewGuid().ToString("N")[..12];

    public static bool IsValidRunId(string runId) => RunIdPattern().IsMatch(runId);

    public string RunDirectory(string runId) => Path.Combine(_root, runId);

    public void Save(RunRecord record)
    {
        Directory.CreateDirectory(RunDirectory(record.RunId));
        AtomicDirectory.WriteFile(Path.Combine(RunDirectory(record.RunId), RecordFile),
            JsonSerializer.SerializeToUtf8Bytes(record, RunJson.Options));
    }

    /// <summary>A run's record; null when there is none or it cannot be read (a damaged record never stops the trainer).</summary>
    public RunRecord? Find(string runId)
    {
        if (!IsValidRunId(runId))
        {
            return null;
        }
        var path = Path.Combine(RunDirectory(runId), RecordFile);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<RunRecord>(File.ReadAllBytes(path), RunJson.Options) : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            Unreadable.Add((runId, ex.Message));
            return null;
        }
    }

    /// <summary>Records found unreadable (for the start-up log).</summary>
    public System.Collections.Concurrent.ConcurrentBag<(string RunId, string Reason)> Unreadable { get; } = [];

    public IReadOnlyList<RunRecord> List() =>
        Directory.EnumerateDirectories(_root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Select(Find)
            .OfType<RunRecord>()
            .OrderByDescending(r => r.CreatedAt)
            .ToArray();

    /// <summary>Saves a checkpoint of a phase atomically and keeps only the newest ones.</summary>
    public string SaveCheckpoint(string runId, string phase, long step, Action<string> write)
    {
        var parent = Path.Combine(RunDirectory(runId), CheckpointsFolder, phase);
        Directory.CreateDirectory(parent);
        var name = $"step-{step:D9}";
        AtomicDirectory.Create(parent, name, write);
        foreach (var old in Checkpoints(parent).SkipLast(CheckpointsKept))
        {
            Directory.Delete(old, recursive: true);
        }
        return Path.Combine(parent, name);
    }

    /// <summary>The newest complete checkpoint of a phase of a run, if any.</summary>
    public string? LatestCheckpoint(string runId, string phase)
    {
        var parent = Path.Combine(RunDirectory(runId), CheckpointsFolder, phase);
        return Directory.Exists(parent) ? Checkpoints(parent).LastOrDefault() : null;
    }

    /// <summary>Weights of the epoch with the lowest held-out NLL so far.</summary>
    public string BestWeights(string runId) => Path.Combine(RunDirectory(runId), "best.pt");

    /// <summary>The VAE the later phases build on (the published VAE epoch, or the start bundle's).</summary>
    public string FinalVae(string runId) => Path.Combine(RunDirectory(runId), "vae.pt");

    public void SaveWeights(string path, TorchSharp.torch.nn.Module model)
    {
        var temporary = path + ".tmp";
        model.save(temporary);
        File.Move(temporary, path, overwrite: true);
    }

    public void DeleteCheckpoints(string runId)
    {
        File.Delete(BestWeights(runId));
        File.Delete(FinalVae(runId));
        var parent = Path.Combine(RunDirectory(runId), CheckpointsFolder);
        if (Directory.Exists(parent))
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private static IEnumerable<string> Checkpoints(string parent) =>
        Directory.EnumerateDirectories(parent, "step-*").Order(StringComparer.Ordinal);

    [GeneratedRegex("^[0-9a-f]{12}$")]
    private static partial Regex RunIdPattern();
}
