using LlmMesh.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class HeldScalarsTests
{
    [Fact]
    public void Each_operation_gives_what_the_implicit_number_operator_gives()
    {
        using var generator = new Generator(3, CPU);
        using var x = randn([64, 16], generator: generator);
        using var ids = tensor(new long[] { 0, 4, 1, 0, 7 });
        using var mask = x.gt(x.mean());
        Assert.True(Same(x * 0.25, x.Times(0.25)));
        Assert.True(Same(x / 3, x.Over(3)));
        Assert.True(Same(x + 1.5, x.Plus(1.5)));
        Assert.True(Same(x + x.flip(0), x.Plus(x.flip(0))));
        Assert.True(Same(x - 1, x.Minus(1)));
        Assert.True(Same(1 - x, x.Subtracted(1)));
        Assert.True(Same(x.pow(2), x.Squared()));
        Assert.True(Same(x.lt(0.1), x.LessThan(0.1)));
        Assert.True(Same(x.ge(0.1), x.AtLeast(0.1)));
        Assert.True(Same(ids.eq(0), ids.EqualTo(0)));
        Assert.True(Same(ids.ne(0), ids.NotEqualTo(0)));
        Assert.True(Same(x.clamp_min(0.2), x.ClampMin(0.2)));
        Assert.True(Same(x.masked_fill(mask, 0), x.MaskedFill(mask, 0.0)));
        Assert.True(Same(ids.masked_fill(ids.eq(0), 9), ids.MaskedFill(ids.EqualTo(0), 9L)));
        Assert.True(Same(nn.functional.leaky_relu(x, 0.2), x.LeakyRelu(0.2)));
        Assert.True(Same(full(5, 2, ScalarType.Int64), HeldScalars.Full(5, 2, ScalarType.Int64)));
        using var filled = x.clone();
        using var columns = tensor(new long[] { 1, 3 });
        Assert.True(Same(x.clone().index_fill_(1, columns, double.NegativeInfinity), filled.IndexFill(1, columns, double.NegativeInfinity)));
    }

    private static bool Same(Tensor expected, Tensor actual) =>
        expected.dtype == actual.dtype && expected.shape.SequenceEqual(actual.shape) && expected.eq(actual).all().item<bool>();

    [Fact]
    public async Task Operations_survive_garbage_collections_and_finalizers_running_alongside()
    {
        // The failure these prevent: a collection on another thread finalizes the Scalar while the
        // native op reads it. Collect and finalize continuously while the ops run (the same loop
        // written with implicit numbers failed one run in three here).
        using var generator = new Generator(5, CPU);
        using var x = randn([32, 64], generator: generator);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        try
        {
            for (var i = 0; i < 100_000; i++)
            {
                using var scope = NewDisposeScope();
                var y = x.LeakyRelu(0.2).Times(0.5).Minus(1).ClampMin(-0.75);
                Assert.True(y.min().item<float>() >= -0.75f);
            }
        }
        finally
        {
            stop.Cancel();
            await collector;
        }
    }
}
