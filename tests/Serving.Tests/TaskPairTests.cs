using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Serving.Tests;

public sealed class TaskPairTests
{
    [Fact]
    public async Task When_one_fails_the_other_is_cancelled_and_awaited_and_the_real_error_comes_through()
    {
        using var stop = new CancellationTokenSource();
        var failNow = new TaskCompletionSource();
        // A call that reports its cancellation the way gRPC does: as a faulted task, not a cancelled one.
        var slowCall = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                throw new RpcException(new Status(StatusCode.Cancelled, "call cancelled"));
            }
        });
        var failing = Task.Run(async () =>
        {
            await failNow.Task;
            throw new RpcException(new Status(StatusCode.Unavailable, "the tokenizer is unavailable"));
        });

        var both = TaskPair.WhenBothAsync(slowCall, failing, stop);
        failNow.SetResult();
        var error = await Assert.ThrowsAsync<RpcException>(() => both.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.True(stop.IsCancellationRequested);
        Assert.True(slowCall.IsFaulted); // ended and observed, not left running
    }

    [Fact]
    public async Task Both_succeeding_end_without_cancelling_anything()
    {
        using var stop = new CancellationTokenSource();
        var first = Task.FromResult(1);
        var second = Task.Run(() => 2);

        await TaskPair.WhenBothAsync(first, second, stop);

        Assert.Equal((1, 2), (await first, await second));
        Assert.False(stop.IsCancellationRequested);
    }
}
