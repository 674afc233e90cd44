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
    private readonly Dictionary<int, StepBinding> _bindings = [];
    private long[] _ids = new long[32];

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
        if (_ids.Length < count)
        {
            _ids = new long[Math.Max(count, 2 * _ids.Length)];
            DisposeBindings(); // bound to the old buffer
        }
        for (var i = 0; i < count; i++)
        {
            _ids[i] = tokens[i];
        }
        _step.RunWithBinding(_run, BindingFor(count, states, z, logits, nextStates));
    }

    /// <summary>
    /// The batcher steps over the same buffers every tick: inputs and outputs are bound once per
    /// batch size (no per-step names, tensors or pins) and rebound only if a buffer changes.
    /// </summary>
    private OrtIoBinding BindingFor(int count, float[] states, float[] z, float[] logits, float[] nextStates)
    {
        if (_bindings.TryGetValue(count, out var bound) && bound.Uses(states, z, logits, nextStates))
        {
            return bound.Binding;
        }
        bound?.Dispose();
        var values = new[]
        {
            OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _ids.AsMemory(0, count), [count]),
            Matrix(states, count, StateSize),
            Matrix(z, count, LatentSize),
            Matrix(logits, count, VocabularySize),
            Matrix(nextStates, count, StateSize),
        };
        var binding = _step.CreateIoBinding();
        binding.BindInput("token", values[0]);
        binding.BindInput("state", values[1]);
        binding.BindInput("z", values[2]);
        binding.BindOutput("logits", values[3]);
        binding.BindOutput("next_state", values[4]);
        _bindings[count] = new StepBinding(binding, values, [states, z, logits, nextStates]);
        return binding;
    }

    private sealed record StepBinding(OrtIoBinding Binding, OrtValue[] Values, float[][] Buffers) : IDisposable
    {
        public bool Uses(params float[][] buffers) => buffers.AsSpan().SequenceEqual(Buffers);

        public void Dispose()
        {
            Binding.Dispose();
            foreach (var value in Values)
            {
                value.Dispose();
            }
        }
    }

    private void DisposeBindings()
    {
        foreach (var bound in _bindings.Values)
        {
            bound.Dispose();
        }
        _bindings.Clear();
    }

    private static OrtValue Matrix(float[] values, int rows, int width) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, values.AsMemory(0, rows * width), [rows, width]);

    public void Dispose()
    {
        DisposeBindings();
        _step.Dispose();
        _init.Dispose();
        _run.Dispose();
    }
}
