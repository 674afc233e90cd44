using BenchmarkDotNet.Running;
using LlmMesh.Bench.DecodeStep;

// dotnet run -c Release --project bench/LlmMesh.Bench.DecodeStep -- --bundle DIR [BenchmarkDotNet options]
var bundle = args.SkipWhile(a => a != "--bundle").Skip(1).FirstOrDefault();
if (bundle is null || !Directory.Exists(bundle))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/LlmMesh.Bench.DecodeStep -- --bundle <bundle folder> [BenchmarkDotNet options]");
    return 2;
}
// BenchmarkDotNet measures in child processes: they find the bundle through the environment.
Environment.SetEnvironmentVariable(DecodeStepBenchmark.BundleVariable, Path.GetFullPath(bundle));
var rest = args.Where((_, i) => args[i] != "--bundle" && (i == 0 || args[i - 1] != "--bundle")).ToArray();
BenchmarkRunner.Run<DecodeStepBenchmark>(args: rest);
return 0;
