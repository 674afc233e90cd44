using BenchmarkDotNet.Attributes;
using LlmMesh.Model;
using static TorchSharp.torch;

namespace LlmMesh.Bench.InProcess;

/// <summary>
/// One sampling step's draw in the evaluation's batches (500 rows over the COCO vocabulary):
/// torch.multinomial against <see cref="VaeSampler.Draw"/>'s inverse-CDF sampling.
/// </summary>
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class DrawBenchmark
{
    private Tensor _probabilities = null!;
    private readonly TorchSharp.torch.Generator _random = new(1, CPU);

    [Params(500)]
    public int Rows { get; set; }

    [Params(11_840)]
    public int Vocabulary { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(1);
        _probabilities = nn.functional.softmax(randn(Rows, Vocabulary, generator: new TorchSharp.torch.Generator(2, CPU)).mul(tensor(3f)), 1);
    }

    [Benchmark(Baseline = true)]
    public long Multinomial()
    {
        using var drawn = multinomial(_probabilities, 1, generator: _random);
        return drawn.shape[0];
    }

    [Benchmark]
    public long InverseCdf()
    {
        using var drawn = VaeSampler.Draw(_probabilities, _random);
        return drawn.shape[0];
    }
}
