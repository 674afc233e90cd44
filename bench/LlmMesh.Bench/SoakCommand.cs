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
        var options = Options.Parse(args);
        var minutes = int.Parse(options.Get("minutes", "15"));
        var warmupMinutes = int.Parse(options.Get("warmup-minutes", "5"));
        var load = double.Parse(options.Get("load", "0.8"));
        var maxTokens = int.Parse(options.Get("max-tokens", "64"));
        var dataDirectory = options.Get("data-directory", "") is { Length: > 0 } folder ? Path.GetFullPath(folder) : null;
        var output = options.Get("out", "soak.json");
        var mode = options.Get("mode", "closed");
        using var channel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        var generator = new Generator.GeneratorClient(channel);
        var model = await ServingBenchmark.WaitForModelAsync(generator, TimeSpan.FromMinutes(5));

        await SaturateAsync(generator, maxTokens, TimeSpan.FromSeconds(30), firstIndex: 1_000_001); // warm-up
        var probe = await SaturateAsync(generator, maxTokens, TimeSpan.FromSeconds(60), firstIndex: 2_000_001);
        var capacity = probe.Completed.Count / 60.0;
        var rate = capacity * load;
        var streams = (int)Math.Round(load * DecodingPlaces);
        Console.Error.WriteLine($"soak: bundle {model.BundleVersion} ({model.Backend}); capacity {capacity:F1} streams/s of {maxTokens} tokens " +
            $"({probe.Errors} errors while measuring); soaking for {warmupMinutes} min of warm-up and {minutes} min " +
            (mode == "open" ? $"at {rate:F1} streams/s (open loop)" : $"with {streams} of {DecodingPlaces} decoding places busy (closed loop)"));

        var windows = new List<JsonObject>();
        var allErrors = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        var numbers = new StreamNumbers(first: 1);
        var openLoop = mode == "open";
        for (var minute = 1; minute <= warmupMinutes + minutes; minute++)
        {
            var window = new Window();
            var end = TimeSpan.FromMinutes(minute);
            await (openLoop
                ? ArriveAsync(generator, maxTokens, rate, clock, end, window, numbers)
                : KeepBusyAsync(generator, maxTokens, streams, clock, end, window, numbers));
            var memory = ServiceMemory.Sample(dataDirectory);
            windows.Add(window.Describe(minute, warmup: minute <= warmupMinutes, memory));
            foreach (var (status, count) in window.ErrorsByStatus)
            {
                allErrors.AddOrUpdate(status, count, (_, n) => n + count);
            }
            Console.Error.WriteLine($"  minute {minute}{(minute <= warmupMinutes ? " (warm-up)" : "")}: {window.Completed.Count} streams, {window.Errors} errors {string.Join(' ', window.ErrorsByStatus)}, TTFT p50 {LoadGenerator.Percentile(window.FirstTokenMs, 0.5):F1} ms " +
                $"p99 {LoadGenerator.Percentile(window.FirstTokenMs, 0.99):F1} ms, generator {memory.GetValueOrDefault("generator") / 1048576.0:F0} MB");
        }

        var measured = windows.Skip(warmupMinutes).ToList();
        var first = windows[Math.Max(warmupMinutes - 1, 0)]["memory_mb"]!.AsObject();
        var last = measured[^1]["memory_mb"]!.AsObject();
        var growth = new JsonObject();
        foreach (var (service, mb) in last)
        {
            if (first[service] is { } before)
            {
                growth[service] = Math.Round(100 * (mb!.GetValue<double>() / before.GetValue<double>() - 1), 2);
            }
        }
        var errors = allErrors.Values.Sum();
        var throughput = measured.Average(w => w["completed"]!.GetValue<int>()) / 60.0;
        var ttftFirst = measured[0]["ttft_p99_ms"]!.GetValue<double>();
        var ttftLast = measured[^1]["ttft_p99_ms"]!.GetValue<double>();
        var report = new JsonObject
        {
            ["bundle_version"] = model.BundleVersion,
            ["backend"] = model.Backend,
            ["max_tokens"] = maxTokens,
            ["capacity_streams_per_second"] = Math.Round(capacity, 2),
            ["load_fraction"] = load,
            ["mode"] = mode,
            ["target_rate_streams_per_second"] = mode == "open" ? Math.Round(rate, 2) : null,
            ["busy_decoding_places"] = mode == "open" ? null : streams,
            ["achieved_streams_per_second"] = Math.Round(throughput, 2),
            ["achieved_fraction_of_capacity"] = Math.Round(throughput / capacity, 3),
            ["warmup_minutes"] = warmupMinutes,
            ["minutes"] = minutes,
            ["warmup_streams"] = windows.Take(warmupMinutes).Sum(w => w["completed"]!.GetValue<int>()),
            ["streams"] = measured.Sum(w => w["completed"]!.GetValue<int>()),
            ["errors"] = errors,
            ["errors_by_status"] = new JsonObject(allErrors.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))),
            ["memory_growth_percent"] = growth,
            ["ttft_p99_ratio_last_to_first_measured_minute"] = Math.Round(ttftLast / ttftFirst, 2),
            ["passed"] = errors == 0 && growth.All(g => g.Value!.GetValue<double>() < 10) && ttftLast <= 2 * ttftFirst,
            ["windows"] = new JsonArray(windows.ToArray<JsonNode>()),
        };
        await File.WriteAllTextAsync(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine($"soak: {report["streams"]} streams measured, {errors} errors in all, memory growth after the warm-up {growth.ToJsonString()} %, passed {report["passed"]}");
        return report["passed"]!.GetValue<bool>() ? 0 : 1;
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
