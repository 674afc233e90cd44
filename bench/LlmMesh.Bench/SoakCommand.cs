using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>
/// A bounded soak: measures the generator's capacity (streams per second at full batch width),
/// then starts streams at a fixed fraction of it for a fixed time (open loop: arrivals do not wait
/// for completions), one in four with a prompt (generator -> encoder -> tokenizer). Every minute
/// it records streams, errors by status, latencies and the services' resident memory; the report
/// says whether there were no errors, memory grew less than 10% from the end of the first minute
/// to the end, and the last minute's TTFT p99 stayed within 2x of the first's.
/// </summary>
public static class SoakCommand
{
    private static readonly string[] Prompts = ["a man riding a horse on a beach", "two dogs play in the snow", "a kitchen with a red table"];

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var minutes = int.Parse(options.Get("minutes", "15"));
        var load = double.Parse(options.Get("load", "0.8"));
        var maxTokens = int.Parse(options.Get("max-tokens", "64"));
        var dataDirectory = options.Get("data-directory", "") is { Length: > 0 } folder ? Path.GetFullPath(folder) : null;
        var output = options.Get("out", "soak.json");
        using var channel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        var generator = new Generator.GeneratorClient(channel);
        var model = await ServingBenchmark.WaitForModelAsync(generator, TimeSpan.FromMinutes(5));

        await LoadGenerator.RunAsync(generator, 128, 32, maxTokens, "", TimeSpan.FromSeconds(60), seedBase: 10_000); // warm-up
        var probe = await LoadGenerator.RunAsync(generator, 2000, 32, maxTokens, "", TimeSpan.FromSeconds(60), seedBase: 20_000);
        var capacity = probe.Requests / probe.Seconds;
        var rate = capacity * load;
        Console.Error.WriteLine($"soak: bundle {model.BundleVersion} ({model.Backend}); capacity {capacity:F1} streams/s of {maxTokens} tokens " +
            $"({probe.AggregateTokensPerSecond:F0} tok/s at 32 streams); soaking at {rate:F1} streams/s for {minutes} min");

        var windows = new List<JsonObject>();
        var allErrors = new ConcurrentDictionary<string, int>();
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var started = 0L;
        for (var minute = 1; minute <= minutes; minute++)
        {
            var window = new Window();
            var end = TimeSpan.FromMinutes(minute);
            while (clock.Elapsed < end)
            {
                var index = started++;
                var prompt = index % 4 == 0 ? Prompts[index / 4 % Prompts.Length] : "";
                inFlight.Add(StreamAsync(generator, prompt, maxTokens, (ulong)index + 1, window, allErrors));
                var due = TimeSpan.FromSeconds(started / rate);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }
                inFlight.RemoveAll(t => t.IsCompleted);
            }
            var memory = ServiceMemory.Sample(dataDirectory);
            windows.Add(window.Describe(minute, memory));
            Console.Error.WriteLine($"  minute {minute}: {window.Completed.Count} streams, {window.Errors} errors, TTFT p50 {LoadGenerator.Percentile(window.FirstTokenMs, 0.5):F1} ms " +
                $"p99 {LoadGenerator.Percentile(window.FirstTokenMs, 0.99):F1} ms, generator {memory.GetValueOrDefault("generator") / 1048576.0:F0} MB, in flight {inFlight.Count}");
        }
        await Task.WhenAll(inFlight);

        var first = windows[0]["memory_mb"]!.AsObject();
        var last = windows[^1]["memory_mb"]!.AsObject();
        var growth = new JsonObject();
        foreach (var (service, mb) in last)
        {
            if (first[service] is { } before)
            {
                growth[service] = Math.Round(100 * (mb!.GetValue<double>() / before.GetValue<double>() - 1), 2);
            }
        }
        var errors = allErrors.Values.Sum();
        var ttftFirst = windows[0]["ttft_p99_ms"]!.GetValue<double>();
        var ttftLast = windows[^1]["ttft_p99_ms"]!.GetValue<double>();
        var report = new JsonObject
        {
            ["bundle_version"] = model.BundleVersion,
            ["backend"] = model.Backend,
            ["max_tokens"] = maxTokens,
            ["capacity_streams_per_second"] = Math.Round(capacity, 2),
            ["capacity_tokens_per_second"] = Math.Round(probe.AggregateTokensPerSecond),
            ["load_fraction"] = load,
            ["rate_streams_per_second"] = Math.Round(rate, 2),
            ["minutes"] = minutes,
            ["streams"] = windows.Sum(w => w["completed"]!.GetValue<int>()),
            ["errors"] = errors,
            ["errors_by_status"] = new JsonObject(allErrors.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))),
            ["memory_growth_percent"] = growth,
            ["ttft_p99_ratio_last_to_first_minute"] = Math.Round(ttftLast / ttftFirst, 2),
            ["passed"] = errors == 0 && growth.All(g => g.Value!.GetValue<double>() < 10) && ttftLast <= 2 * ttftFirst,
            ["windows"] = new JsonArray(windows.ToArray<JsonNode>()),
        };
        await File.WriteAllTextAsync(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Error.WriteLine($"soak: {report["streams"]} streams, {errors} errors, memory growth {growth.ToJsonString()} %, passed {report["passed"]}");
        return report["passed"]!.GetValue<bool>() ? 0 : 1;
    }

    private static async Task StreamAsync(
        Generator.GeneratorClient generator, string prompt, int maxTokens, ulong seed, Window window, ConcurrentDictionary<string, int> errors)
    {
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
            errors.AddOrUpdate(ex.StatusCode.ToString(), 1, (_, n) => n + 1);
            window.Fail();
        }
    }

    /// <summary>One minute's streams (attributed to the minute they started in).</summary>
    private sealed class Window
    {
        private int _errors;

        public ConcurrentBag<(double FirstMs, double TokensPerSecond)> Completed { get; } = [];

        public int Errors => Volatile.Read(ref _errors);

        public double[] FirstTokenMs => Completed.Select(c => c.FirstMs).ToArray();

        public void Add(double firstMs, double tokensPerSecond) => Completed.Add((firstMs, tokensPerSecond));

        public void Fail() => Interlocked.Increment(ref _errors);

        public JsonObject Describe(int minute, IReadOnlyDictionary<string, long> memory) => new()
        {
            ["minute"] = minute,
            ["completed"] = Completed.Count,
            ["errors"] = Errors,
            ["ttft_p50_ms"] = Math.Round(LoadGenerator.Percentile(FirstTokenMs, 0.5), 2),
            ["ttft_p99_ms"] = Math.Round(LoadGenerator.Percentile(FirstTokenMs, 0.99), 2),
            ["stream_tokens_per_second_p50"] = Math.Round(LoadGenerator.Percentile(Completed.Select(c => c.TokensPerSecond).ToArray(), 0.5)),
            ["memory_mb"] = new JsonObject(memory.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)Math.Round(m.Value / 1048576.0, 1)))),
        };
    }
}
