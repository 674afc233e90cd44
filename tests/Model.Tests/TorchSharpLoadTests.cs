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
