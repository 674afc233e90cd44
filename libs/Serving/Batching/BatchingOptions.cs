using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Serving.Batching;

/// <summary>Continuous batching limits: sequences decoded together and requests that may wait for a place.</summary>
public sealed class BatchingOptions
{
    /// <summary>Sequences that share one decoder step at most (and streams decoding at once).</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>Requests waiting for a place when the batch is full; past it new requests fail with RESOURCE_EXHAUSTED.</summary>
    [Range(0, 100_000)]
    public int MaxQueuedRequests { get; set; } = 64;
}
