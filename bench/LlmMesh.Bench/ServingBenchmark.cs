using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>
/// The serving benchmark of one running mesh: waits for the generator to be ready, records each
/// service's memory at idle, then a bounded load at each concurrency (peak memory under the
/// largest), and writes everything as JSON.
/// </summary>
public static class ServingBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var levels = options.Get("concurrency", "1,8,32,64").Split(',').Select(int.Parse).ToArray();
        var maxTokens = int.Parse(options.Get("max-tokens", "64"));
        var duration = TimeSpan.FromSeconds(double.Parse(options.Get("duration", "60")));
        var dataDirectory = options.Get("data-directory", "") is { Length: > 0 } folder ? Path.GetFullPath(folder) : null;
        var output = options.Get("out", "serving.json");
        // Several replicas: --generator URL,URL,... (streams alternate between them).
        var channels = options.Get("generator", "http://127.0.0.1:7103").Split(',').Select(address => GrpcChannel.ForAddress(address)).ToArray();
        using var closing = new ChannelsDisposer(channels);
        var generators = channels.Select(channel => new Generator.GeneratorClient(channel)).ToArray();
        var generator = generators[0];

        var readiness = TimeSpan.FromMinutes(double.Parse(options.Get("ready-timeout-minutes", "5")));
        var model = (await Task.WhenAll(generators.Select(g => WaitForModelAsync(g, readiness))))[0];
        Console.Error.WriteLine($"serving: bundle {model.BundleVersion} on {model.Backend}");
        await LoadGenerator.RunAsync(generators, 128 * generators.Length, 32 * generators.Length, maxTokens, "", duration, seedBase: 10_000); // warm-up (JIT tiers, pools, the batcher at full width)
        await Task.Delay(1000);
        var idle = ServiceMemory.Sample(dataDirectory);

        var loads = new JsonObject();
        IReadOnlyDictionary<string, long> underLoad = new Dictionary<string, long>();
        foreach (var concurrency in levels)
        {
            var requests = Math.Max(96, 8 * concurrency);
            await using var memory = ServiceMemory.StartPeak(dataDirectory);
            var result = await LoadGenerator.RunAsync(generators, requests, concurrency, maxTokens, "", duration, seedBase: 100);
            underLoad = memory.Peak;
            loads[$"c{concurrency}"] = Describe(result);
            Console.Error.WriteLine($"  c={concurrency}: {result.AggregateTokensPerSecond:F0} tok/s aggregate, TTFT p50 {LoadGenerator.Percentile(result.FirstTokenMs, 0.5):F1} ms " +
                $"p99 {LoadGenerator.Percentile(result.FirstTokenMs, 0.99):F1} ms, per stream p50 {LoadGenerator.Percentile(result.StreamTokensPerSecond, 0.5):F0} tok/s, outside server p50 {LoadGenerator.Percentile(result.OutsideServerMs, 0.5):F1} ms, {result.Requests} streams in {result.Seconds:F1} s");
        }
        var report = new JsonObject
        {
            ["backend"] = model.Backend,
            ["generator_replicas"] = generators.Length,
            ["bundle_version"] = model.BundleVersion,
            ["max_tokens"] = maxTokens,
            ["loads"] = loads,
            ["memory_idle_mb"] = Megabytes(idle),
            [$"memory_peak_mb_c{levels[^1]}"] = Megabytes(underLoad),
        };
        await File.WriteAllTextAsync(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    internal static async Task<ModelInfo> WaitForModelAsync(Generator.GeneratorClient generator, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return await generator.GetModelInfoAsync(new GetModelInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.FailedPrecondition or StatusCode.DeadlineExceeded
                && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    private static JsonObject Describe(LoadResult result) => new()
    {
        ["requests"] = result.Requests,
        ["seconds"] = Math.Round(result.Seconds, 3),
        ["aggregate_tokens_per_s"] = Math.Round(result.AggregateTokensPerSecond, 1),
        ["stream_tokens_per_s_p50"] = Math.Round(LoadGenerator.Percentile(result.StreamTokensPerSecond, 0.5), 1),
        ["stream_tokens_per_s_mean"] = Math.Round(result.StreamTokensPerSecond.Average(), 1),
        ["ttft_p50_ms"] = Math.Round(LoadGenerator.Percentile(result.FirstTokenMs, 0.5), 3),
        ["ttft_p99_ms"] = Math.Round(LoadGenerator.Percentile(result.FirstTokenMs, 0.99), 3),
        ["inter_token_p50_ms"] = Math.Round(LoadGenerator.Percentile(result.InterTokenMs, 0.5), 3),
        ["inter_token_p99_ms"] = Math.Round(LoadGenerator.Percentile(result.InterTokenMs, 0.99), 3),
        ["outside_server_p50_ms"] = Math.Round(LoadGenerator.Percentile(result.OutsideServerMs, 0.5), 3),
    };

    private static JsonObject Megabytes(IReadOnlyDictionary<string, long> sizes) =>
        new(sizes.OrderBy(s => s.Key).Select(s => KeyValuePair.Create(s.Key, (JsonNode?)Math.Round(s.Value / 1048576.0, 1))));

    private sealed class ChannelsDisposer(IEnumerable<GrpcChannel> channels) : IDisposable
    {
        public void Dispose()
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }
}
