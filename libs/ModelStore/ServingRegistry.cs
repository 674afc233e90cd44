using System.Text.Json;

namespace LlmMesh.ModelStore;

/// <summary>One serving process's report: the bundle versions it holds right now.</summary>
public sealed record ServingReport(string Service, string Instance, IReadOnlyList<string> Versions, DateTimeOffset UpdatedAt);

/// <summary>
/// Which bundle versions each serving process holds, as one file per process under serving/ of the
/// model store, rewritten whenever it loads or unloads a model and every <see cref="Heartbeat"/>.
/// A report older than <see cref="Expiry"/> is a process that is gone. The trainer reads them
/// before it deletes a version.
/// </summary>
public sealed class ServingRegistry(ModelBundleStore store, TimeProvider clock)
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Expiry = TimeSpan.FromSeconds(30);
    public const string Folder = "serving";
    private readonly string _folder = Path.Combine(Path.GetDirectoryName(store.Root)!, Folder);

    /// <summary>A process's report file, relative to the model store's root.</summary>
    public static string RelativePathOf(string instance) => $"{Folder}/{instance}.json";

    public void Report(string service, string instance, IReadOnlyList<string> versions)
    {
        Directory.CreateDirectory(_folder);
        AtomicDirectory.WriteFile(PathOf(instance),
            JsonSerializer.SerializeToUtf8Bytes(new ServingReport(service, instance, versions, clock.GetUtcNow()), BundleManifest.JsonOptions));
    }

    public void Withdraw(string instance) => File.Delete(PathOf(instance));

    /// <summary>The live processes' reports.</summary>
    public IReadOnlyList<ServingReport> Live()
    {
        if (!Directory.Exists(_folder))
        {
            return [];
        }
        var now = clock.GetUtcNow();
        return Directory.EnumerateFiles(_folder, "*.json")
            .Select(Read)
            .OfType<ServingReport>()
            .Where(r => now - r.UpdatedAt < Expiry)
            .ToArray();
    }

    /// <summary>"generator (instance)" for the first live process holding <paramref name="version"/>; null when none does.</summary>
    public string? ServedBy(string version) =>
        Live().FirstOrDefault(r => r.Versions.Contains(version)) is { } report ? $"{report.Service} ({report.Instance})" : null;

    private static ServingReport? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ServingReport>(File.ReadAllBytes(path), BundleManifest.JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            return null;
        }
    }

    private string PathOf(string instance) => Path.Combine(_folder, Path.GetFileName(RelativePathOf(instance)));
}
