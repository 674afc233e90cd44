using LlmMesh.Serving.Backends;
using BenchmarkDotNet.Running;
using LlmMesh.Bench.InProcess;
using System.Text.Json;
using System.Text.Json.Nodes;

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
if (args.FirstOrDefault() == "nearest")
{
    return BenchmarkRunner.Run<NearestBenchmark>(args: args[1..]).Reports.All(r => r.Success) ? 0 : 1;
}
if (args.FirstOrDefault() == "draw")
{
    return BenchmarkRunner.Run<DrawBenchmark>(args: args[1..]).Reports.All(r => r.Success) ? 0 : 1;
}
var bundle = Option("--bundle");
if (bundle is null || !Directory.Exists(bundle) || args.FirstOrDefault() is not ("decode-step" or "loop"))
{
    Console.Error.WriteLine("""
        usage: dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- <benchmark> --bundle <bundle folder>
          decode-step [--json FILE] [BenchmarkDotNet options]
              one batched decoder step, Torch vs ONNX Runtime, batch 1 and 32 (means in ms to FILE)
          loop [--backend Torch|Onnx] [--requests 60] [--max-tokens 64] [--json FILE]
              the generator's path in process (no gRPC), one stream at a time
        dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- nearest [BenchmarkDotNet options]
              Encoder.Nearest's exact search at 9k, 200k and 2M indexed sentences
        dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- draw [BenchmarkDotNet options]
              one evaluation sampling step's draw (500 rows, 11,840 tokens): torch.multinomial against inverse-CDF
        """);
    return 2;
}
if (args[0] == "loop")
{
    var backend = Enum.Parse<ModelBackend>(Option("--backend") ?? "Torch", ignoreCase: true);
    return await InProcessLoop.RunAsync(bundle, backend, int.Parse(Option("--requests") ?? "60"), int.Parse(Option("--max-tokens") ?? "64"), Option("--json"));
}
// BenchmarkDotNet measures in child processes: they find the bundle through the environment.
Environment.SetEnvironmentVariable(DecodeStepBenchmark.BundleVariable, Path.GetFullPath(bundle));
string[] ours = ["--bundle", "--json"];
var rest = args.Skip(1).Where((_, i) => !ours.Contains(args[i + 1]) && !ours.Contains(args[i])).ToArray();
var summary = BenchmarkRunner.Run<DecodeStepBenchmark>(args: rest);
if (Option("--json") is { } json)
{
    var means = new JsonObject();
    foreach (var report in summary.Reports.Where(r => r.ResultStatistics is not null))
    {
        var backend = report.BenchmarkCase.Descriptor.WorkloadMethod.Name.ToLowerInvariant();
        means[$"{backend}_step_ms_b{report.BenchmarkCase.Parameters["Batch"]}"] = Math.Round(report.ResultStatistics!.Mean / 1e6, 4);
    }
    await File.WriteAllTextAsync(json, means.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
return summary.Reports.Length > 0 && summary.Reports.All(r => r.Success) ? 0 : 1;
