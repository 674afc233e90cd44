using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>One stream at a time through the mesh, measured at the client: time to first token and tokens/s.</summary>
public static class StreamBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var requests = int.Parse(options.Get("requests", "30"));
        var maxTokens = int.Parse(options.Get("max-tokens", "64"));
        var prompt = options.Get("prompt", "");
        using var channel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        var generator = new Generator.GeneratorClient(channel);
        var model = await generator.GetModelInfoAsync(new GetModelInfoRequest());

        var firstTokens = new List<double>();
        var rates = new List<double>();
        for (var i = -3; i < requests; i++) // three warm-up requests
        {
            var clock = Stopwatch.StartNew();
            double? first = null;
            var tokens = 0;
            using var call = generator.Generate(new GenerateRequest { Prompt = prompt, MaxTokens = maxTokens, IgnoreEos = true, Seed = (ulong)(i + 100) },
                deadline: DateTime.UtcNow.AddMinutes(1));
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                if (response.Chunk is { } chunk)
                {
                    first ??= clock.Elapsed.TotalMilliseconds;
                    tokens += chunk.TokenIds.Count;
                }
            }
            var total = clock.Elapsed.TotalMilliseconds;
            if (i >= 0 && first is { } f && tokens > 1)
            {
                firstTokens.Add(f);
                rates.Add((tokens - 1) / ((total - f) / 1000));
            }
        }

        Console.WriteLine($"stream: {requests} sequential requests, {maxTokens} tokens each, prompt: {(prompt.Length == 0 ? "none" : $"\"{prompt}\"")}, bundle {model.BundleVersion} ({model.Backend})");
        Console.WriteLine($"time to first token: p50 {Percentile(firstTokens, 0.5):F2} ms, p99 {Percentile(firstTokens, 0.99):F2} ms");
        Console.WriteLine($"tokens/s per stream: p50 {Percentile(rates, 0.5):F0}, mean {rates.Average():F0}");
        return 0;
    }

    internal static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
    }
}
