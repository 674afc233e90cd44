using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>
/// A bounded soak: measures the generator's capacity (streams per second with its 32 decoding
/// places kept busy, for 60 s) on the soak's own mix of streams (one in four with a prompt:
/// generator -> encoder -> tokenizer), then loads it at a fraction of it for a fixed time: by
/// default that fraction of the decoding places kept busy (closed loop), or with --mode open
/// streams started at that fraction of the measured rate whatever their progress. Every minute
/// it records streams, errors by status, latencies and the services' resident memory. The first
/// --warmup-minutes (5) run the same load but are not measured: services that get no requests
/// still warm up for minutes (tiered JIT of their background work, first collections). The report
/// says whether there were no errors at all, memory grew less than 10% from the end of the warm-up
/// to the end, and the last minute's TTFT p99 stayed within 2x of the first measured minute's.
/// </summary>
public static class SoakCommand
{
    private static readonly string[] Prompts = ["a man riding a horse on a beach", "two dogs play in the snow", "a kitchen with a red table"];

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = SoakSettings.Parse(Options.Parse(args));
        using var channel = GrpcChannel.ForAddress(settings.Generator);
        var generator = new Generator.GeneratorClient(channel);
        var model = await ServingBenchmark.WaitForModelAsync(generator, TimeSpan.FromMinutes(5));

        await SaturateAsync(generator, settings.MaxTokens, TimeSpan.FromSeconds(30), firstIndex: 1_000_001); // warm-up
        var probe = await SaturateAsync(generator, settings.MaxTokens, TimeSpan.FromSeconds(60), firstIndex: 2_000_001);
        var capacity = probe.Completed.Count / 60.0;
        Console.Error.WriteLine($"soak: bundle {model.BundleVersion} ({model.Backend}); capacity {capacity:F1} streams/s of {settings.MaxTokens} tokens " +
            $"({probe.Errors} errors while measuring); soaking for {settings.WarmupMinutes} min of warm-up and {settings.Minutes} min " +
            (settings.OpenLoop ? $"at {settings.Rate(capacity):F1} streams/s (open loop)" : $"with {settings.Streams} of {DecodingPlaces} decoding places busy (closed loop)"));

        var (windows, allErrors) = await SoakAsync(generator, settings, capacity);
        var report = Report(settings, model, capacity, windows, allErrors);
        await File.WriteAllTextAsync(settings.Output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine($"soak: {report["streams"]} streams measured, {report["errors"]} errors in all, " +
            $"memory growth after the warm-up {report["memory_growth_percent"]!.ToJsonString()} %, passed {report["passed"]}");
        return report["passed"]!.GetValue<bool>() ? 0 : 1;
    }

    /// <summary>The soak's command line: duration, load, stream length and where to report.</summary>
    private sealed record SoakSettings(int Minutes, int WarmupMinutes, double Load, int MaxTokens, string? DataDirectory, string Output, string Mode, string Generator)
    {
        public bool OpenLoop => Mode == "open";

        /// <summary>Closed loop: the decoding places kept busy.</summary>
        public int Streams => (int)Math.Round(Load * DecodingPlaces);

        /// <summary>Open loop: streams started per second.</summary>
        public double Rate(double capacity) => capacity * Load;

        public static SoakSettings Parse(Options options) => new(
            Minutes: int.Parse(options.Get("minutes", "15")),
            WarmupMinutes: int.Parse(options.Get("warmup-minutes", "5")),
            Load: double.Parse(options.Get("load", "0.8")),
            MaxTokens: int.Parse(options.Get("max-tokens", "64")),
            DataDirectory: options.Get("data-directory", "") is { Length: > 0 } folder ? Path.GetFullPath(folder) : null,
            Output: options.Get("out", "soak.json"),
            Mode: options.Get("mode", "closed"),
            Generator: options.Get("generator", "http://127.0.0.1:7103"));
    }

    /// <summary>The warm-up and measured minutes: a window of figures per minute, and all errors by status.</summary>
    private static async Task<(List<JsonObject> Windows, ConcurrentDictionary<string, int> Errors)> SoakAsync(
        Generator.GeneratorClient generator, SoakSettings settings, double capacity)
    {
        var windows = new List<JsonObject>();
        var allErrors = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        var numbers = new StreamNumbers(first: 1);
        for (var minute = 1; minute <= settings.WarmupMinutes + settings.Minutes; minute++)
        {
            var window = new Window();
            var end = TimeSpan.FromMinutes(minute);
            await (settings.OpenLoop
                ? ArriveAsync(generator, settings.MaxTokens, settings.Rate(capacity), clock, end, window, numbers)
                : KeepBusyAsync(generator, settings.MaxTokens, settings.Streams, clock, end, window, numbers));
            var memory = ServiceMemory.Sample(settings.DataDirectory);
            var warmup = minute <= settings.WarmupMinutes;
            windows.Add(window.Describe(minute, warmup, memory));
            foreach (var (status, count) in window.ErrorsByStatus)
            {
                allErrors.AddOrUpdate(status, count, (_, n) => n + count);
            }
            Console.Error.WriteLine($"  minute {minute}{(warmup ? " (warm-up)" : "")}: {window.Completed.Count} streams, {window.Errors} errors {string.Join(' ', window.ErrorsByStatus)}, TTFT p50 {LoadGenerator.Percentile(window.FirstTokenMs, 0.5):F1} ms " +
                $"p99 {LoadGenerator.Percentile(window.FirstTokenMs, 0.99):F1} ms, generator {memory.GetValueOrDefault("generator") / 1048576.0:F0} MB");
        }
        return (windows, allErrors);
    }

    /// <summary>The verdict: no errors, memory growth under 10 % after the warm-up, TTFT p99 within 2x of the first measured minute.</summary>
    private static JsonObject Report(SoakSettings settings, ModelInfo model, double capacity, List<JsonObject> windows, ConcurrentDictionary<string, int> allErrors)
    {
        var measured = windows.Skip(settings.WarmupMinutes).ToList();
        var growth = MemoryGrowth(windows[Math.Max(settings.WarmupMinutes - 1, 0)], measured[^1]);
        var errors = allErrors.Values.Sum();
        var throughput = measured.Average(w => w["completed"]!.GetValue<int>()) / 60.0;
        var ttftFirst = measured[0]["ttft_p99_ms"]!.GetValue<double>();
        var ttftLast = measured[^1]["ttft_p99_ms"]!.GetValue<double>();
        return new JsonObject
        {
            ["bundle_version"] = model.BundleVersion,
            ["backend"] = model.Backend,
            ["max_tokens"] = settings.MaxTokens,
            ["capacity_streams_per_second"] = Math.Round(capacity, 2),
            ["load_fraction"] = settings.Load,
            ["mode"] = settings.Mode,
            ["target_rate_streams_per_second"] = settings.OpenLoop ? Math.Round(settings.Rate(capacity), 2) : null,
            ["busy_decoding_places"] = settings.OpenLoop ? null : settings.Streams,
            ["achieved_streams_per_second"] = Math.Round(throughput, 2),
            ["achieved_fraction_of_capacity"] = Math.Round(throughput / capacity, 3),
            ["warmup_minutes"] = settings.WarmupMinutes,
            ["minutes"] = settings.Minutes,
            ["warmup_streams"] = windows.Take(settings.WarmupMinutes).Sum(w => w["completed"]!.GetValue<int>()),
            ["streams"] = measured.Sum(w => w["completed"]!.GetValue<int>()),
            ["errors"] = errors,
            ["errors_by_status"] = new JsonObject(allErrors.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))),
            ["memory_growth_percent"] = growth,
            ["ttft_p99_ratio_last_to_first_measured_minute"] = Math.Round(ttftLast / ttftFirst, 2),
            ["passed"] = errors == 0 && growth.All(g => g.Value!.GetValue<double>() < 10) && ttftLast <= 2 * ttftFirst,
            ["windows"] = new JsonArray(windows.ToArray<JsonNode>()),
        };
    }

    /// <summary>Each service's resident memory growth in percent between two minutes' windows.</summary>
    private static JsonObject MemoryGrowth(JsonObject from, JsonObject to)
    {
        var first = from["memory_mb"]!.AsObject();
        var growth = new JsonObject();
        foreach (var (service, mb) in to["memory_mb"]!.AsObject())
        {
            if (first[service] is { } before)
            {
                growth[service] = Math.Round(100 * (mb!.GetValue<double>() / before.GetValue<double>() - 1), 2);
            }
        }
        return growth;
    }

    private const int DecodingPlaces = 32;

    /// <summary>Open loop: starts streams at <paramref name="rate"/> per second until <paramref name="end"/>, whatever their progress.</summary>
    private static async Task ArriveAsync(
        Generator.GeneratorClient generator, int maxTokens, double rate, Stopwatch clock, TimeSpan end, Window window, StreamNumbers numbers)
    {
        var inFlight = new List<Task>();
        var start = clock.Elapsed;
        var arrivals = 0L;
        while (clock.Elapsed < end)
        {
            inFlight.Add(StreamAsync(generator, numbers.Next(), maxTokens, window));
            var due = start + TimeSpan.FromSeconds(++arrivals / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
            inFlight.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(inFlight);
    }

    /// <summary>Keeps 32 streams going (the generator's decoding places) for <paramref name="duration"/>.</summary>
    private static async Task<Window> SaturateAsync(Generator.GeneratorClient generator, int maxTokens, TimeSpan duration, long firstIndex)
    {
        var window = new Window();
        await KeepBusyAsync(generator, maxTokens, DecodingPlaces, Stopwatch.StartNew(), duration, window, new StreamNumbers(firstIndex));
        return window;
    }

    /// <summary>Closed loop: <paramref name="streams"/> streams at a time, a new one as soon as one ends, until <paramref name="end"/>.</summary>
    private static Task KeepBusyAsync(
        Generator.GeneratorClient generator, int maxTokens, int streams, Stopwatch clock, TimeSpan end, Window window, StreamNumbers numbers) =>
        Task.WhenAll(Enumerable.Range(0, streams).Select(async _ =>
        {
            while (clock.Elapsed < end)
            {
                await StreamAsync(generator, numbers.Next(), maxTokens, window);
            }
        }));

    /// <summary>Numbers streams (their seed, and whether they have a prompt) across concurrent workers.</summary>
    private sealed class StreamNumbers(long first)
    {
        private long _last = first - 1;

        public long Next() => Interlocked.Increment(ref _last);
    }

    /// <summary>Stream <paramref name="index"/> of the mix: every fourth has a prompt.</summary>
    private static async Task StreamAsync(Generator.GeneratorClient generator, long index, int maxTokens, Window window)
    {
        var prompt = index % 4 == 0 ? Prompts[index / 4 % Prompts.Length] : "";
        var seed = (ulong)index + 1;
        var clock = Stopwatch.StartNew();
        double? first = null;
        var tokens = 0;
        try
        {
            using var call = generator.Generate(new GenerateRequest { Prompt = prompt, MaxTokens = maxTokens, IgnoreEos = true, Seed = seed },
                deadline: DateTime.UtcNow.AddSeconds(60));
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                if (response.Chunk is { TokenIds.Count: > 0 } chunk)
                {
                    first ??= clock.Elapsed.TotalMilliseconds;
                    tokens += chunk.TokenIds.Count;
                }
            }
            window.Add(first ?? clock.Elapsed.TotalMilliseconds, tokens / clock.Elapsed.TotalSeconds);
        }
        catch (RpcException ex)
        {
            window.Fail(ex.StatusCode);
        }
    }

    /// <summary>One minute's streams (attributed to the minute they started in).</summary>
    private sealed class Window
    {
        public ConcurrentBag<(double FirstMs, double TokensPerSecond)> Completed { get; } = [];

        public ConcurrentDictionary<string, int> ErrorsByStatus { get; } = new();

        public int Errors => ErrorsByStatus.Values.Sum();

        public double[] FirstTokenMs => Completed.Select(c => c.FirstMs).ToArray();

        public void Add(double firstMs, double tokensPerSecond) => Completed.Add((firstMs, tokensPerSecond));

        public void Fail(StatusCode status) => ErrorsByStatus.AddOrUpdate(status.ToString(), 1, (_, n) => n + 1);

        public JsonObject Describe(int minute, bool warmup, IReadOnlyDictionary<string, long> memory) => new()
        {
            ["minute"] = minute,
            ["warmup"] = warmup,
            ["completed"] = Completed.Count,
            ["errors"] = Errors,
            ["errors_by_status"] = new JsonObject(ErrorsByStatus.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))),
            ["ttft_p50_ms"] = Math.Round(LoadGenerator.Percentile(FirstTokenMs, 0.5), 2),
            ["ttft_p99_ms"] = Math.Round(LoadGenerator.Percentile(FirstTokenMs, 0.99), 2),
            ["stream_tokens_per_second_p50"] = Math.Round(LoadGenerator.Percentile(Completed.Select(c => c.TokensPerSecond).ToArray(), 0.5)),
            ["memory_mb"] = new JsonObject(memory.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)Math.Round(m.Value / 1048576.0, 1)))),
        };
    }
}
