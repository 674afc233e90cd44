using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>
/// Streams through the mesh, measured at the client: a fixed number of requests, at most
/// <c>--concurrency</c> at a time (a bounded load that stops by itself), reporting time to first
/// token, tokens/s per stream and in aggregate.
/// </summary>
public static class StreamBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var concurrency = int.Parse(options.Get("concurrency", "1"));
        var requests = int.Parse(options.Get("requests", "30"));
        var maxTokens = int.Parse(options.Get("max-tokens", "64"));
        var prompt = options.Get("prompt", "");
        using var channel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        var generator = new Generator.GeneratorClient(channel);
        var model = await generator.GetModelInfoAsync(new GetModelInfoRequest());

        await RunRequestsAsync(generator, Math.Min(3, requests), concurrency, maxTokens, prompt, seedBase: 1_000); // warm-up
        var clock = Stopwatch.StartNew();
        var results = await RunRequestsAsync(generator, requests, concurrency, maxTokens, prompt, seedBase: 100);
        var elapsed = clock.Elapsed.TotalSeconds;

        var firstTokens = results.Select(r => r.FirstTokenMs).ToArray();
        var rates = results.Where(r => r.Tokens > 1).Select(r => (r.Tokens - 1) / ((r.TotalMs - r.FirstTokenMs) / 1000)).ToArray();
        Console.WriteLine($"stream: {requests} requests, {concurrency} at a time, {maxTokens} tokens each, prompt: {(prompt.Length == 0 ? "none" : $"\"{prompt}\"")}, bundle {model.BundleVersion} ({model.Backend})");
        Console.WriteLine($"time to first token: p50 {Percentile(firstTokens, 0.5):F2} ms, p99 {Percentile(firstTokens, 0.99):F2} ms");
        Console.WriteLine($"tokens/s per stream: p50 {Percentile(rates, 0.5):F0}, mean {rates.Average():F0}");
        Console.WriteLine($"aggregate: {results.Sum(r => r.Tokens) / elapsed:F0} tokens/s over {elapsed:F1} s");
        return 0;
    }

    private sealed record StreamResult(double FirstTokenMs, double TotalMs, int Tokens);

    private static async Task<IReadOnlyList<StreamResult>> RunRequestsAsync(
        Generator.GeneratorClient generator, int requests, int concurrency, int maxTokens, string prompt, int seedBase)
    {
        var results = new ConcurrentBag<StreamResult>();
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var clock = Stopwatch.StartNew();
                double? first = null;
                var tokens = 0;
                using var call = generator.Generate(new GenerateRequest { Prompt = prompt, MaxTokens = maxTokens, IgnoreEos = true, Seed = (ulong)(seedBase + i) },
                    deadline: DateTime.UtcNow.AddMinutes(2));
                await foreach (var response in call.ResponseStream.ReadAllAsync())
                {
                    if (response.Chunk is { } chunk)
                    {
                        first ??= clock.Elapsed.TotalMilliseconds;
                        tokens += chunk.TokenIds.Count;
                    }
                }
                results.Add(new StreamResult(first ?? clock.Elapsed.TotalMilliseconds, clock.Elapsed.TotalMilliseconds, tokens));
            }
        });
        await Task.WhenAll(workers);
        return results.ToArray();
    }

    internal static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
    }
}
