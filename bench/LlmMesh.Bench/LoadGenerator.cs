using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>What one bounded load measured at the client.</summary>
public sealed record LoadResult(
    int Concurrency, int Requests, double Seconds, long Tokens, double[] FirstTokenMs, double[] StreamTokensPerSecond, double[] InterTokenMs,
    double[] OutsideServerMs)
{
    public double AggregateTokensPerSecond => Tokens / Seconds;
}

/// <summary>
/// A bounded load on the generator: a fixed number of streams, at most <c>concurrency</c> at a
/// time, no new stream after <c>duration</c>; it stops by itself. Each stream's rate is its
/// completion tokens over the whole call (request sent to trailers received); the part of the call
/// outside the server's own timing (its final message's total_ms) is the transport's share.
/// </summary>
public static class LoadGenerator
{
    /// <summary>Stream i goes to generators[i mod n]: several replicas share the load evenly.</summary>
    public static async Task<LoadResult> RunAsync(
        IReadOnlyList<Generator.GeneratorClient> generators, int requests, int concurrency, int maxTokens, string prompt, TimeSpan duration, int seedBase)
    {
        var streams = new ConcurrentBag<(double FirstMs, double TotalMs, double ServerMs, int Tokens, List<double> Gaps)>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests && clock.Elapsed < duration)
            {
                var started = Stopwatch.StartNew();
                double? first = null;
                var last = 0.0;
                var tokens = 0;
                var serverMs = 0.0;
                var gaps = new List<double>(maxTokens);
                using var call = generators[i % generators.Count].Generate(
                    new GenerateRequest { Prompt = prompt, MaxTokens = maxTokens, IgnoreEos = true, Seed = (ulong)(seedBase + i) },
                    deadline: DateTime.UtcNow.AddMinutes(2));
                await foreach (var response in call.ResponseStream.ReadAllAsync())
                {
                    if (response.Chunk is { TokenIds.Count: > 0 } chunk)
                    {
                        var now = started.Elapsed.TotalMilliseconds;
                        if (first is null)
                        {
                            first = now;
                        }
                        else
                        {
                            gaps.Add(now - last);
                        }
                        last = now;
                        tokens += chunk.TokenIds.Count;
                    }
                    else if (response.Final is { } final)
                    {
                        serverMs = final.Timings.TotalMs;
                    }
                }
                var totalMs = started.Elapsed.TotalMilliseconds;
                streams.Add((first ?? totalMs, totalMs, serverMs, tokens, gaps));
            }
        });
        await Task.WhenAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        var done = streams.ToArray();
        return new LoadResult(concurrency, done.Length, seconds, done.Sum(s => (long)s.Tokens),
            done.Select(s => s.FirstMs).ToArray(),
            done.Select(s => s.Tokens / (s.TotalMs / 1000)).ToArray(),
            done.SelectMany(s => s.Gaps).ToArray(),
            done.Select(s => s.TotalMs - s.ServerMs).ToArray());
    }

    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
    }
}
