using System.Diagnostics;

namespace LlmMesh.Bench;

/// <summary>
/// Resident memory of the mesh's service processes (found by executable name and, when given,
/// by their data folder in their environment), sampled in the background to keep the peak.
/// </summary>
public sealed class ServiceMemory : IAsyncDisposable
{
    public static readonly string[] Services = ["tokenizer", "encoder", "generator", "discriminator", "trainer", "gateway"];

    private readonly string? _dataDirectory;
    private readonly Dictionary<string, long> _peak = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    private ServiceMemory(string? dataDirectory)
    {
        _dataDirectory = dataDirectory;
        _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var (service, bytes) in Sample(_dataDirectory))
                {
                    lock (_peak)
                    {
                        _peak[service] = Math.Max(_peak.GetValueOrDefault(service), bytes);
                    }
                }
                await Task.Delay(100).ConfigureAwait(false);
            }
        });
    }

    /// <summary>Starts sampling every 100 ms until disposed; <see cref="Peak"/> holds the largest sample per service.</summary>
    public static ServiceMemory StartPeak(string? dataDirectory) => new(dataDirectory);

    public IReadOnlyDictionary<string, long> Peak
    {
        get
        {
            lock (_peak)
            {
                return new Dictionary<string, long>(_peak);
            }
        }
    }

    /// <summary>Resident bytes per running service now, by replica when it runs several ("generator", "generator-2").</summary>
    public static Dictionary<string, long> Sample(string? dataDirectory)
    {
        var sizes = new Dictionary<string, long>();
        foreach (var service in Services)
        {
            foreach (var process in Process.GetProcessesByName($"LlmMesh.{char.ToUpperInvariant(service[0])}{service[1..]}"))
            {
                using (process)
                {
                    try
                    {
                        var environment = File.ReadAllText($"/proc/{process.Id}/environ");
                        if (dataDirectory is null || environment.Contains(dataDirectory, StringComparison.Ordinal))
                        {
                            process.Refresh();
                            sizes[InstanceOf(environment) ?? service] = process.WorkingSet64;
                        }
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                    {
                        // The process ended between listing and reading.
                    }
                }
            }
        }
        return sizes;
    }

    private static string? InstanceOf(string environment) =>
        environment.Split('\0').FirstOrDefault(v => v.StartsWith("LlmMesh__Instance=", StringComparison.Ordinal))?["LlmMesh__Instance=".Length..];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}
