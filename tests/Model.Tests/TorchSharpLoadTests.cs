using TorchSharp;

namespace LlmMesh.Model.Tests;

public sealed class TorchSharpLoadTests
{
    [Fact]
    public void TorchSharp_loads_and_computes_with_autograd()
    {
        var x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        var y = (x * x).sum();
        y.backward();

        Assert.Equal(14f, y.item<float>());
        Assert.Equal([2f, 4f, 6f], x.grad!.data<float>().ToArray());
    }
}

public sealed class TestThreadTests
{
    [Fact]
    public void Training_tests_run_with_one_math_thread()
    {
        // tests/unit.runsettings sets OMP_NUM_THREADS=1; the margins in the training tests were measured that way.
        Assert.Equal(1, torch.get_num_threads());
    }
}
