using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Bench;

/// <summary>One bounded load through the mesh, printed: time to first token, tokens/s per stream and in aggregate.</summary>
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

        await LoadGenerator.RunAsync([generator], Math.Min(3, requests), concurrency, maxTokens, prompt, TimeSpan.MaxValue, seedBase: 1_000); // warm-up
        var result = await LoadGenerator.RunAsync([generator], requests, concurrency, maxTokens, prompt, TimeSpan.MaxValue, seedBase: 100);
        Console.WriteLine($"stream: {requests} requests, {concurrency} at a time, {maxTokens} tokens each, prompt: {(prompt.Length == 0 ? "none" : $"\"{prompt}\"")}, bundle {model.BundleVersion} ({model.Backend})");
        Console.WriteLine($"time to first token: p50 {LoadGenerator.Percentile(result.FirstTokenMs, 0.5):F2} ms, p99 {LoadGenerator.Percentile(result.FirstTokenMs, 0.99):F2} ms");
        Console.WriteLine($"inter-token: p50 {LoadGenerator.Percentile(result.InterTokenMs, 0.5):F3} ms, p99 {LoadGenerator.Percentile(result.InterTokenMs, 0.99):F3} ms");
        Console.WriteLine($"tokens/s per stream (whole call): p50 {LoadGenerator.Percentile(result.StreamTokensPerSecond, 0.5):F0}, mean {result.StreamTokensPerSecond.Average():F0}");
        Console.WriteLine($"outside the server's timing per call: p50 {LoadGenerator.Percentile(result.OutsideServerMs, 0.5):F2} ms");
        Console.WriteLine($"aggregate: {result.AggregateTokensPerSecond:F0} tokens/s over {result.Seconds:F1} s");
        return 0;
    }
}
