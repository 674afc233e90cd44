using System.Collections.Concurrent;
using Grpc.Core;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.Serving.Batching;
using LlmMesh.Serving.Sampling;
using LlmMesh.Serving.Torch;

namespace LlmMesh.Serving.Tests;

/// <summary>
/// A decoder whose state is the running sum of its tokens and whose logits are [state, z0, token]:
/// every answer shows which sequence it belongs to. Records batch sizes; can be slowed or broken.
/// </summary>
internal sealed class RecordingDecoder : IDecoderStep
{
    public ConcurrentQueue<int> Batches { get; } = new();

    public TimeSpan Delay { get; init; }

    public volatile bool Fail;

    public int LatentSize => 1;

    public int StateSize => 1;

    public int VocabularySize => 3;

    public void InitialStates(float[] z, int count, float[] states) => Array.Clear(states, 0, count);

    public void Dispose()
    {
    }

    public void Step(int[] tokens, float[] states, float[] z, int count, float[] logits, float[] nextStates)
    {
        Batches.Enqueue(count);
        Thread.Sleep(Delay);
        if (Fail)
        {
            throw new InvalidOperationException("decoder broke");
        }
        for (var i = 0; i < count; i++)
        {
            nextStates[i] = states[i] + tokens[i];
            (logits[3 * i], logits[3 * i + 1], logits[3 * i + 2]) = (nextStates[i], z[i], tokens[i]);
        }
    }
}

public sealed class DecodeBatcherTests
{
    [Fact]
    public async Task Concurrent_sequences_share_steps_and_each_gets_its_own_answers()
    {
        var decoder = new RecordingDecoder { Delay = TimeSpan.FromMilliseconds(2) };
        using var batcher = new DecodeBatcher(decoder, new BatchingOptions { MaxBatchSize = 8 });

        var sequences = Enumerable.Range(0, 8).Select(async id =>
        {
            using var sequence = await batcher.JoinAsync([id], CancellationToken.None);
            var sum = 0f;
            for (var token = 1; token <= 20; token++)
            {
                var logits = await sequence.StepAsync(token, CancellationToken.None);
                sum += token;
                Assert.Equal(new[] { sum, id, token }, logits);
            }
        });
        await Task.WhenAll(sequences);

        Assert.Equal(8 * 20, decoder.Batches.Sum());
        Assert.True(decoder.Batches.Count < 8 * 20 / 2, $"{decoder.Batches.Count} steps for 160 tokens: streams did not share steps");
        Assert.Equal(0, batcher.Active);
    }

    [Fact]
    public async Task A_sequence_with_the_language_model_mixed_in_decodes_a_row_without_its_code_in_its_one_place()
    {
        var decoder = new RecordingDecoder();
        using var batcher = new DecodeBatcher(decoder, new BatchingOptions { MaxBatchSize = 1, MaxQueuedRequests = 0 });
        using var mixed = await batcher.JoinAsync([2f], languageModelWeight: 0.25, CancellationToken.None);
        Assert.Equal(1, batcher.Active);

        var sum = 0f;
        for (var token = 1; token <= 3; token++)
        {
            var logits = await mixed.StepAsync(token, CancellationToken.None);
            sum += token;
            // Its own row reads z = 2, the language model's z = 0; both rows keep their own state.
            var expected = new float[3];
            ProductOfExperts.Mix([sum, 2f, token], [sum, 0f, token], 0.25, expected);
            Assert.Equal(expected, logits);
        }
        Assert.Equal([2, 2, 2], decoder.Batches);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => batcher.JoinAsync([1f], languageModelWeight: 1.5, CancellationToken.None));
    }

    [Fact]
    public async Task Past_the_batch_and_the_queue_new_requests_fail_fast_with_resource_exhausted()
    {
        using var batcher = new DecodeBatcher(new RecordingDecoder(), new BatchingOptions { MaxBatchSize = 2, MaxQueuedRequests = 1 });
        var first = await batcher.JoinAsync([0], CancellationToken.None);
        using var second = await batcher.JoinAsync([0], CancellationToken.None);
        var queued = batcher.JoinAsync([0], CancellationToken.None);
        Assert.False(queued.IsCompleted);
        Assert.Equal(1, batcher.Queued);

        var refused = await Assert.ThrowsAsync<MeshException>(() => batcher.JoinAsync([0], CancellationToken.None));
        Assert.Equal(MeshErrorKind.CapacityExceeded, refused.Kind);
        Assert.Contains("capacity", refused.Message);

        first.Dispose();
        using var third = await queued.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new float[] { 3, 0, 3 }, await third.StepAsync(3, CancellationToken.None));
        Assert.Equal((2, 0), (batcher.Active, batcher.Queued));
    }

    [Fact]
    public async Task Cancelled_requests_leave_the_queue_and_the_batch()
    {
        using var batcher = new DecodeBatcher(new RecordingDecoder { Delay = TimeSpan.FromMilliseconds(20) }, new BatchingOptions { MaxBatchSize = 1, MaxQueuedRequests = 4 });
        using var holder = await batcher.JoinAsync([0], CancellationToken.None);
        using var leaving = new CancellationTokenSource();
        var waiting = batcher.JoinAsync([0], leaving.Token);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, batcher.Queued);

        using var stepCancel = new CancellationTokenSource();
        var busy = holder.StepAsync(1, CancellationToken.None);
        var cancelledStep = holder.StepAsync(1, stepCancel.Token);
        stepCancel.Cancel();
        await busy;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelledStep);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holder.StepAsync(1, stepCancel.Token));
    }

    [Fact]
    public async Task A_failing_step_fails_its_batch_and_later_steps_recover()
    {
        var decoder = new RecordingDecoder { Fail = true };
        using var batcher = new DecodeBatcher(decoder, new BatchingOptions());
        using var sequence = await batcher.JoinAsync([0], CancellationToken.None);
        Assert.Equal("decoder broke", (await Assert.ThrowsAsync<InvalidOperationException>(() => sequence.StepAsync(1, CancellationToken.None))).Message);
        decoder.Fail = false;
        Assert.Equal(3, (await sequence.StepAsync(1, CancellationToken.None)).Length);
        Assert.Throws<ArgumentException>(() => batcher.JoinAsync([0, 0], CancellationToken.None).GetAwaiter().GetResult());
    }
}

public sealed class TorchDecoderStepTests(TinyBundleFixture fixture) : IClassFixture<TinyBundleFixture>
{
    [Fact]
    public void A_batched_step_gives_each_row_what_a_step_of_its_own_gives()
    {
        using var vae = BundleModules.LoadVae(fixture.Bundle.Bundle);
        var step = new TorchDecoderStep(vae);
        var random = new Random(3);
        const int count = 5;
        var z = Enumerable.Range(0, count * step.LatentSize).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var tokens = Enumerable.Range(0, count).Select(i => 10 + i).ToArray();
        var states = new float[count * step.StateSize];
        step.InitialStates(z, count, states);
        var logits = new float[count * step.VocabularySize];
        var next = new float[states.Length];
        step.Step(tokens, states, z, count, logits, next);

        for (var i = 0; i < count; i++)
        {
            var rowZ = z[(i * step.LatentSize)..((i + 1) * step.LatentSize)];
            var rowState = new float[step.StateSize];
            step.InitialStates(rowZ, 1, rowState);
            var rowLogits = new float[step.VocabularySize];
            var rowNext = new float[step.StateSize];
            step.Step([tokens[i]], rowState, rowZ, 1, rowLogits, rowNext);
            for (var v = 0; v < step.VocabularySize; v++)
            {
                Assert.Equal(rowLogits[v], logits[i * step.VocabularySize + v], 1e-4f);
            }
            for (var h = 0; h < step.StateSize; h++)
            {
                Assert.Equal(rowNext[h], next[i * step.StateSize + h], 1e-5f);
            }
        }
    }
}
