using System.Threading.Channels;
using Grpc.Core;

namespace LlmMesh.Serving.Batching;

/// <summary>
/// Continuous batching: every sequence that is ready for its next token joins the next decoder
/// step, one batched step per tick on a dedicated thread. Sequences join and leave between steps;
/// while a step runs, the sequences of the previous one sample and detokenize on their own tasks
/// (the step never waits for them), and whichever are ready make the next batch. At most
/// <see cref="BatchingOptions.MaxBatchSize"/> sequences decode at once; up to
/// <see cref="BatchingOptions.MaxQueuedRequests"/> more wait for a place, and past that a new
/// request fails fast with RESOURCE_EXHAUSTED.
/// </summary>
public sealed class DecodeBatcher : IDisposable
{
    private readonly IDecoderStep _decoder;
    private readonly BatchingOptions _options;
    private readonly Action<int>? _onStep;
    private readonly SemaphoreSlim _places;
    private readonly Channel<PendingStep> _pending = Channel.CreateUnbounded<PendingStep>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _loop;
    private int _queued;

    /// <param name="onStep">Called with the batch size after every step (metrics).</param>
    /// <param name="threadStart">Runs first on the step thread (e.g. libtorch's per-thread pool size).</param>
    public DecodeBatcher(IDecoderStep decoder, BatchingOptions options, Action<int>? onStep = null, Action? threadStart = null)
    {
        _decoder = decoder;
        _options = options;
        _onStep = onStep;
        _places = new SemaphoreSlim(options.MaxBatchSize, options.MaxBatchSize);
        _loop = new Thread(() =>
        {
            threadStart?.Invoke();
            Run();
        })
        {
            IsBackground = true,
            Name = "decode-batcher",
        };
        _loop.Start();
    }

    /// <summary>Sequences decoding now (holding a place).</summary>
    public int Active => _options.MaxBatchSize - _places.CurrentCount;

    /// <summary>Requests waiting for a place.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Takes a place for a new sequence with latent code <paramref name="z"/>, waiting in the bounded queue if the batch is full.</summary>
    public async Task<DecodeSequence> JoinAsync(float[] z, CancellationToken cancellationToken)
    {
        if (z.Length != _decoder.LatentSize)
        {
            throw new ArgumentException($"z has {z.Length} values; the decoder takes {_decoder.LatentSize}", nameof(z));
        }
        if (!_places.Wait(0))
        {
            if (Interlocked.Increment(ref _queued) > _options.MaxQueuedRequests)
            {
                Interlocked.Decrement(ref _queued);
                throw new MeshException(MeshErrorKind.CapacityExceeded,
                    $"the generator is at capacity ({_options.MaxBatchSize} streams decoding, {_options.MaxQueuedRequests} waiting); retry later");
            }
            try
            {
                await _places.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _queued);
            }
        }
        return new DecodeSequence(this, z, _decoder.StateSize, _decoder.VocabularySize);
    }

    internal Task<float[]> Enqueue(DecodeSequence sequence, int token, CancellationToken cancellationToken)
    {
        var step = new PendingStep(sequence, token, cancellationToken);
        if (!_pending.Writer.TryWrite(step))
        {
            throw new ObjectDisposedException(nameof(DecodeBatcher));
        }
        return step.Completion.Task;
    }

    internal void Leave() => _places.Release();

    private void Run()
    {
        var batch = new List<PendingStep>(_options.MaxBatchSize);
        var tokens = new int[_options.MaxBatchSize];
        var states = new float[_options.MaxBatchSize * _decoder.StateSize];
        var nextStates = new float[states.Length];
        var z = new float[_options.MaxBatchSize * _decoder.LatentSize];
        var logits = new float[_options.MaxBatchSize * _decoder.VocabularySize];
        var reader = _pending.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var step))
            {
                if (step.CancellationToken.IsCancellationRequested)
                {
                    step.Completion.TrySetCanceled(step.CancellationToken);
                }
                else
                {
                    batch.Add(step);
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            try
            {
                StepBatch(batch, tokens, states, nextStates, z, logits);
                _onStep?.Invoke(batch.Count);
            }
            catch (Exception ex)
            {
                foreach (var step in batch)
                {
                    step.Completion.TrySetException(ex);
                }
            }
        }
    }

    private void StepBatch(List<PendingStep> batch, int[] tokens, float[] states, float[] nextStates, float[] z, float[] logits)
    {
        var (stateSize, latentSize, vocabularySize) = (_decoder.StateSize, _decoder.LatentSize, _decoder.VocabularySize);
        InitializeNewSequences(batch, z, states);
        for (var i = 0; i < batch.Count; i++)
        {
            var sequence = batch[i].Sequence;
            tokens[i] = batch[i].Token;
            sequence.State.CopyTo(states, i * stateSize);
            sequence.Z.CopyTo(z, i * latentSize);
        }
        _decoder.Step(tokens, states, z, batch.Count, logits, nextStates);
        for (var i = 0; i < batch.Count; i++)
        {
            var sequence = batch[i].Sequence;
            Array.Copy(nextStates, i * stateSize, sequence.State, 0, stateSize);
            var rowLogits = new float[vocabularySize];
            Array.Copy(logits, i * vocabularySize, rowLogits, 0, vocabularySize);
            batch[i].Completion.TrySetResult(rowLogits);
        }
    }

    /// <summary>Sequences stepping for the first time get their initial state from z, batched.</summary>
    private void InitializeNewSequences(List<PendingStep> batch, float[] z, float[] states)
    {
        var count = 0;
        foreach (var step in batch)
        {
            if (!step.Sequence.Initialized)
            {
                step.Sequence.Z.CopyTo(z, count++ * _decoder.LatentSize);
            }
        }
        if (count == 0)
        {
            return; // the usual tick: no allocation on the hot path
        }
        _decoder.InitialStates(z, count, states);
        var row = 0;
        foreach (var step in batch)
        {
            if (!step.Sequence.Initialized)
            {
                Array.Copy(states, row++ * _decoder.StateSize, step.Sequence.State, 0, _decoder.StateSize);
                step.Sequence.Initialized = true;
            }
        }
    }

    public void Dispose()
    {
        _pending.Writer.TryComplete();
        _loop.Join();
        while (_pending.Reader.TryRead(out var step))
        {
            step.Completion.TrySetException(new ObjectDisposedException(nameof(DecodeBatcher)));
        }
        _places.Dispose();
    }

    private sealed record PendingStep(DecodeSequence Sequence, int Token, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<float[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One sequence in a <see cref="DecodeBatcher"/>: its code, its decoder state, and its place (released on dispose).</summary>
public sealed class DecodeSequence : IDisposable
{
    private readonly DecodeBatcher _batcher;
    private int _disposed;

    internal DecodeSequence(DecodeBatcher batcher, float[] z, int stateSize, int vocabularySize)
    {
        _batcher = batcher;
        Z = z;
        State = new float[stateSize];
        VocabularySize = vocabularySize;
    }

    internal float[] Z { get; }

    internal float[] State { get; }

    internal bool Initialized { get; set; }

    public int VocabularySize { get; }

    /// <summary>Feeds <paramref name="token"/> and returns the next-token logits, computed in the next batched step.</summary>
    public Task<float[]> StepAsync(int token, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        return _batcher.Enqueue(this, token, cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _batcher.Leave();
        }
    }
}
