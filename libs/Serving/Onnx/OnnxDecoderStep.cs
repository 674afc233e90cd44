using LlmMesh.Serving.Batching;
using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

/// <summary>
/// The decoder step on ONNX Runtime (no libtorch): runs the exported decoder-step and
/// decoder-init graphs with inputs and outputs bound straight to the batcher's arrays.
/// </summary>
public sealed class OnnxDecoderStep : IDecoderStep
{
    private readonly InferenceSession _step;
    private readonly InferenceSession _init;
    private readonly RunOptions _run = new();

    /// <param name="stepModel">decoder-step.onnx</param>
    /// <param name="initModel">decoder-init.onnx</param>
    public OnnxDecoderStep(string stepModel, string initModel, int threads)
    {
        _step = OnnxSessions.Open(stepModel, threads);
        _init = OnnxSessions.Open(initModel, threads);
        StateSize = OnnxSessions.Width(_step.InputMetadata["state"]);
        LatentSize = OnnxSessions.Width(_step.InputMetadata["z"]);
        VocabularySize = OnnxSessions.Width(_step.OutputMetadata["logits"]);
    }

    public int LatentSize { get; }

    public int StateSize { get; }

    public int VocabularySize { get; }

    public void InitialStates(float[] z, int count, float[] states)
    {
        using var input = Matrix(z, count, LatentSize);
        using var output = Matrix(states, count, StateSize);
        _init.Run(_run, ["z"], [input], ["state"], [output]);
    }

    public void Step(int[] tokens, float[] states, float[] z, int count, float[] logits, float[] nextStates)
    {
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = tokens[i];
        }
        using var token = OrtValue.CreateTensorValueFromMemory(ids, [count]);
        using var state = Matrix(states, count, StateSize);
        using var code = Matrix(z, count, LatentSize);
        using var logitsOut = Matrix(logits, count, VocabularySize);
        using var stateOut = Matrix(nextStates, count, StateSize);
        _step.Run(_run, ["token", "state", "z"], [token, state, code], ["logits", "next_state"], [logitsOut, stateOut]);
    }

    private static OrtValue Matrix(float[] values, int rows, int width) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, values.AsMemory(0, rows * width), [rows, width]);

    public void Dispose()
    {
        _step.Dispose();
        _init.Dispose();
        _run.Dispose();
    }
}
