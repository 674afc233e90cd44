using BenchmarkDotNet.Attributes;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Onnx;
using LlmMesh.Serving.Torch;

namespace LlmMesh.Bench.InProcess;

/// <summary>One batched decoder step of a bundle's decoder: TorchSharp against ONNX Runtime, both on one thread.</summary>
[SimpleJob(warmupCount: 3, iterationCount: 15)]
[MemoryDiagnoser]
public class DecodeStepBenchmark
{
    public const string BundleVariable = "LLMMESH_BENCH_BUNDLE";

    private SentenceVae _vae = null!;
    private TorchDecoderStep _torch = null!;
    private OnnxDecoderStep _onnx = null!;
    private string _onnxDirectory = "";
    private int[] _tokens = [];
    private float[] _states = [];
    private float[] _z = [];
    private float[] _logits = [];
    private float[] _next = [];

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TorchSharp.torch.set_num_threads(1);
        var directory = new DirectoryInfo(Environment.GetEnvironmentVariable(BundleVariable) ?? throw new InvalidOperationException($"{BundleVariable} is not set"));
        var bundle = new ModelBundleStore(directory.Parent!.Parent!.FullName).Open(directory.Name, VaeBundle.KindsWithVae);
        _vae = BundleModules.LoadVae(bundle);
        _onnxDirectory = Directory.CreateTempSubdirectory("llmmesh-bench-onnx-").FullName;
        OnnxExport.WriteVae(_vae, _onnxDirectory);
        _torch = new TorchDecoderStep(_vae);
        _onnx = new OnnxDecoderStep(Path.Combine(_onnxDirectory, OnnxGraphs.DecoderStepFile), Path.Combine(_onnxDirectory, OnnxGraphs.DecoderInitFile), threads: 1);

        var random = new Random(1);
        _tokens = Enumerable.Range(0, Batch).Select(_ => random.Next(4, _vae.Config.VocabularySize)).ToArray();
        _z = Enumerable.Range(0, Batch * _vae.Config.LatentSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _states = new float[Batch * _vae.Config.HiddenSize];
        _torch.InitialStates(_z, Batch, _states);
        _logits = new float[Batch * _vae.Config.VocabularySize];
        _next = new float[_states.Length];
    }

    [Benchmark(Baseline = true)]
    public void Torch() => _torch.Step(_tokens, _states, _z, Batch, _logits, _next);

    [Benchmark]
    public void Onnx() => _onnx.Step(_tokens, _states, _z, Batch, _logits, _next);

    [GlobalCleanup]
    public void Cleanup()
    {
        _onnx.Dispose();
        _vae.Dispose();
        Directory.Delete(_onnxDirectory, recursive: true);
    }
}
