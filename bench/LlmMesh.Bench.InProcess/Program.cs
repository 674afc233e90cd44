using LlmMesh.Serving.Backends;
using BenchmarkDotNet.Running;
using LlmMesh.Bench.InProcess;
using LlmMesh.Generator.Generation;

// dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- decode-step --bundle DIR [BenchmarkDotNet options]
// dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- loop --bundle DIR [--backend Torch|Onnx] [--requests 60] [--max-tokens 64]
string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var bundle = Option("--bundle");
if (bundle is null || !Directory.Exists(bundle) || args.FirstOrDefault() is not ("decode-step" or "loop"))
{
    Console.Error.WriteLine("""
        usage: dotnet run -c Release --project bench/LlmMesh.Bench.InProcess -- <benchmark> --bundle <bundle folder>
          decode-step [BenchmarkDotNet options]   one batched decoder step, Torch vs ONNX Runtime, batch 1 and 32
          loop [--backend Torch|Onnx] [--requests 60] [--max-tokens 64]
                                                  the generator's path in process (no gRPC), one stream at a time
        """);
    return 2;
}
if (args[0] == "loop")
{
    var backend = Enum.Parse<ModelBackend>(Option("--backend") ?? "Torch", ignoreCase: true);
    return await InProcessLoop.RunAsync(bundle, backend, int.Parse(Option("--requests") ?? "60"), int.Parse(Option("--max-tokens") ?? "64"));
}
// BenchmarkDotNet measures in child processes: they find the bundle through the environment.
Environment.SetEnvironmentVariable(DecodeStepBenchmark.BundleVariable, Path.GetFullPath(bundle));
var rest = args.Skip(1).Where((_, i) => args[i + 1] != "--bundle" && args[i] != "--bundle").ToArray();
BenchmarkRunner.Run<DecodeStepBenchmark>(args: rest);
return 0;
