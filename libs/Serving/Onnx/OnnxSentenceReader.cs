using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

/// <summary>
/// Runs an exported sentence reader (tokens [B, T] int64, lengths [B] int32 -> one float row per
/// sentence per output) on right-padded batches; the GRU reads each sentence up to its length.
/// </summary>
internal sealed class OnnxSentenceReader(string model, int threads) : IDisposable
{
    private readonly InferenceSession _session = OnnxSessions.Open(model, threads);

    public int Width(string output) => OnnxSessions.Width(_session.OutputMetadata[output]);

    /// <summary>Rows of each named output, in sentence order.</summary>
    public float[][][] Run(IReadOnlyList<int[]> sentences, params string[] outputs)
    {
        var count = sentences.Count;
        var time = 0;
        foreach (var sentence in sentences)
        {
            time = Math.Max(time, sentence.Length > 0 ? sentence.Length : throw new ArgumentException("sentences must not be empty"));
        }
        var tokens = new long[count * time]; // padded with id 0, never read past a sentence's length
        var lengths = new int[count];
        for (var i = 0; i < count; i++)
        {
            lengths[i] = sentences[i].Length;
            for (var t = 0; t < sentences[i].Length; t++)
            {
                tokens[i * time + t] = sentences[i][t];
            }
        }
        using var tokenInput = OrtValue.CreateTensorValueFromMemory(tokens, [count, time]);
        using var lengthInput = OrtValue.CreateTensorValueFromMemory(lengths, [count]);
        var widths = outputs.Select(Width).ToArray();
        var buffers = widths.Select(w => new float[count * w]).ToArray();
        var values = buffers.Select((b, o) => OrtValue.CreateTensorValueFromMemory(b, [count, widths[o]])).ToArray();
        try
        {
            using var run = new RunOptions();
            _session.Run(run, ["tokens", "lengths"], [tokenInput, lengthInput], outputs, values);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
        return buffers.Select((b, o) => Enumerable.Range(0, count).Select(r => b.AsSpan(r * widths[o], widths[o]).ToArray()).ToArray()).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
