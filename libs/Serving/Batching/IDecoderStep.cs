namespace LlmMesh.Serving.Batching;

/// <summary>
/// One autoregressive decoder step for a batch of sequences, on plain row-major arrays so that
/// any backend (TorchSharp, ONNX Runtime) fits behind it. Called from one thread at a time;
/// disposing it releases the backend's model.
/// </summary>
public interface IDecoderStep : IDisposable
{
    int LatentSize { get; }

    /// <summary>Floats of decoder state per sequence.</summary>
    int StateSize { get; }

    int VocabularySize { get; }

    /// <summary>Initial states [count × StateSize] for latent codes z [count × LatentSize].</summary>
    void InitialStates(float[] z, int count, float[] states);

    /// <summary>
    /// Feeds tokens [count] to sequences in <paramref name="states"/> [count × StateSize] with
    /// codes <paramref name="z"/> [count × LatentSize]; writes next-token logits
    /// [count × VocabularySize] and the next states [count × StateSize].
    /// </summary>
    void Step(int[] tokens, float[] states, float[] z, int count, float[] logits, float[] nextStates);
}
