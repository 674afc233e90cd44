using LlmMesh.Serving.Backends;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Batching;
using LlmMesh.Serving.Hosting;
using LlmMesh.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;
using LlmMesh.Serving.Torch;

namespace LlmMesh.Bench.InProcess;

/// <summary>
/// The generator's own generation path (engine, batcher, sampling, local detokenization) in this
/// process, without gRPC: the baseline against which the mesh's per-token overhead is measured.
/// </summary>
public static class InProcessLoop
{
    public static async Task<int> RunAsync(string bundleFolder, ModelBackend backend, int requests, int maxTokens, string? json)
    {
        var directory = new DirectoryInfo(Path.GetFullPath(bundleFolder));
        var storeRoot = directory.Parent!.Parent!.FullName;
        var host = new ModelHost<GeneratorModel>(new ModelCatalog(new ModelBundleStore(storeRoot)), new Loader(storeRoot, backend), new EveryVocabulary(),
            Microsoft.Extensions.Options.Options.Create(new ServingOptions()), NullLogger<ModelHost<GeneratorModel>>.Instance);
        await host.LoadAsync(directory.Name, CancellationToken.None);
        using var nowhere = GrpcChannel.ForAddress("http://127.0.0.1:9");
        var options = new GeneratorOptions();
        var engine = new GenerationEngine(new LlmMesh.Contracts.V1.Encoder.EncoderClient(nowhere), new Tokenizer.TokenizerClient(nowhere),
            new LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient(nowhere), new GenerationTelemetry(new PlainMeterFactory()),
            Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Options.Options.Create(new ServingOptions()));

        var firstTokens = new List<double>();
        var rates = new List<double>();
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        for (var i = -3; i < requests; i++) // three warm-up requests
        {
            if (i == 0)
            {
                clock.Restart();
                tokens = 0;
            }
            using var lease = host.Acquire();
            var output = Channel.CreateUnbounded<GenerateResponse>();
            var started = Stopwatch.StartNew();
            double? first = null;
            var count = 0;
            var reading = Task.Run(async () =>
            {
                await foreach (var response in output.Reader.ReadAllAsync())
                {
                    if (response.Chunk is { } chunk)
                    {
                        first ??= started.Elapsed.TotalMilliseconds;
                        count += chunk.TokenIds.Count;
                    }
                }
            });
            var request = GenerationRequest.From(new GenerateRequest { MaxTokens = maxTokens, IgnoreEos = true, Seed = (ulong)(i + 100) }, options, RecommendedSampling.Plain);
            await engine.RunAsync(lease, request, output.Writer, CancellationToken.None);
            output.Writer.Complete();
            await reading;
            var total = started.Elapsed.TotalMilliseconds;
            tokens += count;
            if (i >= 0 && first is { } f)
            {
                firstTokens.Add(f);
                rates.Add(count / (total / 1000)); // the whole call, as the mesh's load generator measures it
            }
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"in process: {requests} sequential requests, {maxTokens} tokens each, bundle {directory.Name} ({backend})");
        Console.WriteLine($"time to first token: p50 {Percentile(firstTokens, 0.5):F2} ms, p99 {Percentile(firstTokens, 0.99):F2} ms");
        Console.WriteLine($"tokens/s per stream (whole call): p50 {Percentile(rates, 0.5):F0}, mean {rates.Average():F0}");
        Console.WriteLine($"aggregate: {tokens / elapsed:F0} tokens/s over {elapsed:F1} s");
        if (json is not null)
        {
            var report = new JsonObject
            {
                ["backend"] = backend.ToString().ToLowerInvariant(),
                ["bundle_version"] = directory.Name,
                ["requests"] = requests,
                ["max_tokens"] = maxTokens,
                ["stream_tokens_per_s_p50"] = Math.Round(Percentile(rates, 0.5), 1),
                ["stream_tokens_per_s_mean"] = Math.Round(rates.Average(), 1),
                ["aggregate_tokens_per_s"] = Math.Round(tokens / elapsed, 1),
                ["ttft_p50_ms"] = Math.Round(Percentile(firstTokens, 0.5), 3),
            };
            await File.WriteAllTextAsync(json, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
    }

    private sealed class Loader(string storeRoot, ModelBackend backend) : IModelLoader<GeneratorModel>
    {
        public IReadOnlyList<string> Kinds => LlmMesh.Model.VaeBundle.KindsWithVae;

        public GeneratorModel Load(ModelBundle bundle)
        {
            var vocabularies = new VocabularyStore(storeRoot);
            var version = bundle.Manifest.TokenizerVersion;
            return GeneratorModel.Load(bundle, vocabularies.Contains(version) ? vocabularies.Load(version) : null, ModelBackends.Create(new BackendOptions { Backend = backend }), new BatchingOptions());
        }
    }

    private sealed class EveryVocabulary : IVocabularyCatalog
    {
        public Task<bool> HasAsync(string version, CancellationToken cancellationToken) => Task.FromResult(true);
    }

    private sealed class PlainMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options.Name);

        public void Dispose()
        {
        }
    }
}
