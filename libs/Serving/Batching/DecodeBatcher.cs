using System.Threading.Channels;
using Grpc.Core;
using LlmMesh.Serving.Sampling;

namespace LlmMesh.Serving.Batching;

/// <summary>
/// Continuous batching: every sequence that is ready for its next token joins the next decoder
/// step, one batched step per tick on a dedicated thread. Sequences join and leave between steps;
/// while a step runs, the sequences of the previous one sample and detokenize on their own tasks
/// (the step never waits for them), and whichever are ready make the next batch. At most
/// <see cref="BatchingOptions.MaxBatchSize"/> sequences decode at once; up to
/// <see cref="BatchingOptions.MaxQueuedRequests"/> more wait for a place, and past that a new
/// request fails fast with RESOURCE_EXHAUSTED. A sequence that mixes in the decoder's plain language
/// model decodes two rows per step (its code, and no code) in its one place.
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
    public Task<DecodeSequence> JoinAsync(float[] z, CancellationToken cancellationToken) => JoinAsync(z, languageModelWeight: 0, cancellationToken);

    /// <inheritdoc cref="JoinAsync(float[], CancellationToken)"/>
    /// <param name="z">The sequence's code.</param>
    /// <param name="languageModelWeight">
    /// Above 0: every step also decodes the sequence with no code (z = 0, the plain language model of
    /// a decoder trained with codes withheld) and returns the two experts' product
    /// (<see cref="ProductOfExperts"/>) at this weight.
    /// </param>
    /// <param name="cancellationToken">Stops the wait for a place.</param>
    public async Task<DecodeSequence> JoinAsync(float[] z, double languageModelWeight, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(languageModelWeight) || languageModelWeight is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(languageModelWeight), languageModelWeight, "the language model's weight is in [0, 1]");
        }
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
        return new DecodeSequence(this, z, _decoder.StateSize, _decoder.VocabularySize, languageModelWeight);
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
        // Room for two rows per sequence: a sequence with a language model mixed in decodes two.
        var capacity = 2 * _options.MaxBatchSize;
        var tokens = new int[capacity];
        var states = new float[capacity * _decoder.StateSize];
        var nextStates = new float[states.Length];
        var z = new float[capacity * _decoder.LatentSize];
        var logits = new float[capacity * _decoder.VocabularySize];
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
                var rows = StepBatch(batch, tokens, states, nextStates, z, logits);
                _onStep?.Invoke(rows);
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

    /// <summary>One decoder step for the batch's sequences, each its rows side by side; returns the rows decoded.</summary>
    private int StepBatch(List<PendingStep> batch, int[] tokens, float[] states, float[] nextStates, float[] z, float[] logits)
    {
        var (stateSize, vocabularySize) = (_decoder.StateSize, _decoder.VocabularySize);
        InitializeNewSequences(batch, z, states);
        var rows = 0;
        foreach (var step in batch)
        {
            var sequence = step.Sequence;
            Array.Fill(tokens, step.Token, rows, sequence.Rows);
            sequence.State.CopyTo(states, rows * stateSize);
            WriteCodes(sequence, z, rows);
            rows += sequence.Rows;
        }
        _decoder.Step(tokens, states, z, rows, logits, nextStates);
        var row = 0;
        foreach (var step in batch)
        {
            var sequence = step.Sequence;
            Array.Copy(nextStates, row * stateSize, sequence.State, 0, sequence.State.Length);
            var rowLogits = new float[sequence.Rows * vocabularySize];
            Array.Copy(logits, row * vocabularySize, rowLogits, 0, rowLogits.Length);
            row += sequence.Rows;
            step.Completion.TrySetResult(rowLogits);
        }
        return rows;
    }

    /// <summary>A sequence's codes from row <paramref name="row"/> of <paramref name="z"/>: its own, then zeros for its language model row.</summary>
    private void WriteCodes(DecodeSequence sequence, float[] z, int row)
    {
        sequence.Z.CopyTo(z, row * _decoder.LatentSize);
        if (sequence.Rows == 2)
        {
            Array.Clear(z, (row + 1) * _decoder.LatentSize, _decoder.LatentSize);
        }
    }

    /// <summary>Sequences stepping for the first time get their initial states from their codes, batched.</summary>
    private void InitializeNewSequences(List<PendingStep> batch, float[] z, float[] states)
    {
        var rows = 0;
        foreach (var step in batch)
        {
            if (!step.Sequence.Initialized)
            {
                WriteCodes(step.Sequence, z, rows);
                rows += step.Sequence.Rows;
            }
        }
        if (rows == 0)
        {
            return; // the usual tick: no allocation on the hot path
        }
        _decoder.InitialStates(z, rows, states);
        var row = 0;
        foreach (var step in batch)
        {
            if (!step.Sequence.Initialized)
            {
                Array.Copy(states, row * _decoder.StateSize, step.Sequence.State, 0, step.Sequence.State.Length);
                row += step.Sequence.Rows;
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

    private readonly double _languageModelWeight;

    internal DecodeSequence(DecodeBatcher batcher, float[] z, int stateSize, int vocabularySize, double languageModelWeight)
    {
        _batcher = batcher;
        Z = z;
        _languageModelWeight = languageModelWeight;
        Rows = languageModelWeight > 0 ? 2 : 1;
        State = new float[Rows * stateSize];
        VocabularySize = vocabularySize;
    }

    internal float[] Z { get; }

    /// <summary>Decoder rows per step: 1, or 2 with the language model mixed in (the second row reads no code).</summary>
    internal int Rows { get; }

    /// <summary>The state of every row, side by side.</summary>
    internal float[] State { get; }

    internal bool Initialized { get; set; }

    public int VocabularySize { get; }

    /// <summary>
    /// Feeds <paramref name="token"/> and returns the next-token logits, computed in the next batched
    /// step (with a language model mixed in, the experts' product as log-probabilities).
    /// </summary>
    public async Task<float[]> StepAsync(int token, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var logits = await _batcher.Enqueue(this, token, cancellationToken).ConfigureAwait(false);
        if (Rows == 1)
        {
            return logits;
        }
        // Mixed here, on the stream's own task, so the step thread goes on to the next batch.
        var mixed = new float[VocabularySize];
        ProductOfExperts.Mix(logits.AsSpan(0, VocabularySize), logits.AsSpan(VocabularySize), _languageModelWeight, mixed);
        return mixed;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _batcher.Leave();
        }
    }
}
