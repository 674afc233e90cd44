using BenchmarkDotNet.Attributes;
using LlmMesh.Model;

namespace LlmMesh.Bench.InProcess;

/// <summary>
/// Encoder.Nearest's exact search over indexes of 32-value codes: COCO's training split (about 9,000
/// sentences), a 200,000-line corpus and the largest upload (2,000,000 lines).
/// </summary>
[SimpleJob(warmupCount: 3, iterationCount: 15)]
[MemoryDiagnoser]
public class NearestBenchmark
{
    private const int LatentSize = 32;
    private LatentIndex _index = null!;
    private float[] _query = [];

    [Params(9_000, 200_000, 2_000_000)]
    public int Rows { get; set; }

    [Params(5, 50)]
    public int K { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        float[] Code() => Enumerable.Range(0, LatentSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        _index = LatentIndex.Build(Enumerable.Range(0, Rows).Select(i => $"sentence {i}").ToArray(), Enumerable.Range(0, Rows).Select(_ => Code()).ToArray());
        _query = Code();
    }

    [Benchmark]
    public int Nearest() => _index.Nearest(_query, K).Count;
}
