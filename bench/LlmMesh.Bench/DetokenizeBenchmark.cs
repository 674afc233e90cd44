using System.Diagnostics;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Tokenization;

namespace LlmMesh.Bench;

/// <summary>
/// What a generator pays to turn each new token into text: the in-process streaming detokenizer
/// against one DecodeStream round trip per token to the tokenizer service (h2c on loopback).
/// </summary>
public static class DetokenizeBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var tokenizerAddress = options.Get("tokenizer", "http://127.0.0.1:7101");
        var storePath = options.Get("store", ".data/models");
        var sequences = int.Parse(options.Get("sequences", "200"));

        using var channel = GrpcChannel.ForAddress(tokenizerAddress);
        var client = new Tokenizer.TokenizerClient(channel);
        var info = await client.GetInfoAsync(new GetInfoRequest());
        var vocabulary = new VocabularyStore(storePath).Load(info.VocabularyVersion);
        var corpus = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "coco-sample.txt")).Take(sequences)
            .Select(line => vocabulary.Encode(line).ToArray()).ToArray();
        var tokens = corpus.Sum(s => s.Length);

        var local = new List<double>(tokens);
        var remote = new List<double>(tokens);
        for (var round = 0; round < 2; round++) // the first round warms up both paths
        {
            local.Clear();
            remote.Clear();
            foreach (var ids in corpus)
            {
                var detokenizer = vocabulary.CreateStreamingDetokenizer();
                foreach (var id in ids)
                {
                    var started = Stopwatch.GetTimestamp();
                    detokenizer.Append([id]);
                    local.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
                detokenizer.Flush();

                using var call = client.DecodeStream();
                foreach (var id in ids)
                {
                    var started = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(new DecodeRequest { Ids = { id }, VocabularyVersion = info.VocabularyVersion });
                    await call.ResponseStream.MoveNext(CancellationToken.None);
                    remote.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
                await call.RequestStream.CompleteAsync();
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
        }

        Console.WriteLine($"detokenize: {corpus.Length} sequences, {tokens} tokens, vocabulary {info.VocabularyVersion}");
        Console.WriteLine($"{"path",-24} {"p50 µs",10} {"p99 µs",10} {"mean µs",10}");
        Report("in process", local);
        Report("tokenizer DecodeStream", remote);
        Console.WriteLine($"ratio (DecodeStream / in process, p50): {Percentile(remote, 0.5) / Percentile(local, 0.5):F0}x");
        return 0;
    }

    private static void Report(string name, List<double> micros) =>
        Console.WriteLine($"{name,-24} {Percentile(micros, 0.5),10:F2} {Percentile(micros, 0.99),10:F2} {micros.Average(),10:F2}");

    private static double Percentile(List<double> values, double p) => LoadGenerator.Percentile(values, p);
}

internal sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }
        return new Options(values);
    }

    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);
}
