using LlmMesh.Onnx;
using static LlmMesh.Onnx.Proto.TensorProto.Types;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Exports the sentence VAE's decoder to ONNX, built from basic operators in PyTorch's GRU gate
/// order (r, z, n): <see cref="DecoderStepFile"/> maps (token [B], state [B, H], z [B, L]) to
/// (logits [B, V], next_state [B, H]); <see cref="DecoderInitFile"/> maps z [B, L] to the initial
/// state [B, H]. A plain language model exports with its z weights zeroed (z is ignored).
/// </summary>
public static class OnnxExport
{
    public const string DecoderStepFile = "decoder-step.onnx";
    public const string DecoderInitFile = "decoder-init.onnx";
    public const string LatentGeneratorFile = "latent-generator.onnx";
    private const string Producer = "LlmMesh";

    public static void WriteDecoder(SentenceVae vae, string directory)
    {
        File.WriteAllBytes(Path.Combine(directory, DecoderStepFile), DecoderStep(vae));
        File.WriteAllBytes(Path.Combine(directory, DecoderInitFile), DecoderInit(vae));
    }

    public static byte[] DecoderStep(SentenceVae vae)
    {
        var config = vae.Config;
        var (v, e, h, l) = ((long)config.VocabularySize, (long)config.EmbeddingSize, (long)config.HiddenSize, (long)config.LatentSize);
        var weights = Weights(vae);
        var inputWeights = weights["decoder.weight_ih_l0"];
        if (!config.UsesLatent)
        {
            ZeroColumns(inputWeights, rows: 3 * h, columns: e + l, from: e);
        }
        return new OnnxGraph("decoder_step")
            .Input("token", DataType.Int64)
            .Input("state", DataType.Float, h)
            .Input("z", DataType.Float, l)
            .Initializer("embedding", weights["embedding.weight"], v, e)
            .Initializer("w_ih", inputWeights, 3 * h, e + l)
            .Initializer("b_ih", weights["decoder.bias_ih_l0"], 3 * h)
            .Initializer("w_hh", weights["decoder.weight_hh_l0"], 3 * h, h)
            .Initializer("b_hh", weights["decoder.bias_hh_l0"], 3 * h)
            .Initializer("w_out", weights["output.weight"], v, h)
            .Initializer("b_out", weights["output.bias"], v)
            .Initializer("gate_sizes", new[] { h, h, h }, 3)
            .Node("Gather", ["embedding", "token"], ["embedded"], OnnxGraph.Int("axis", 0))
            .Node("Concat", ["embedded", "z"], ["x"], OnnxGraph.Int("axis", 1))
            .Node("Gemm", ["x", "w_ih", "b_ih"], ["gi"], OnnxGraph.Int("transB", 1))
            .Node("Gemm", ["state", "w_hh", "b_hh"], ["gh"], OnnxGraph.Int("transB", 1))
            .Node("Split", ["gi", "gate_sizes"], ["i_r", "i_z", "i_n"], OnnxGraph.Int("axis", 1))
            .Node("Split", ["gh", "gate_sizes"], ["h_r", "h_z", "h_n"], OnnxGraph.Int("axis", 1))
            .Node("Add", ["i_r", "h_r"], ["r_sum"])
            .Node("Sigmoid", ["r_sum"], ["r"])
            .Node("Add", ["i_z", "h_z"], ["z_sum"])
            .Node("Sigmoid", ["z_sum"], ["update"])
            .Node("Mul", ["r", "h_n"], ["r_h_n"])
            .Node("Add", ["i_n", "r_h_n"], ["n_sum"])
            .Node("Tanh", ["n_sum"], ["n"])
            .Node("Sub", ["state", "n"], ["state_minus_n"])
            .Node("Mul", ["update", "state_minus_n"], ["carried"])
            .Node("Add", ["n", "carried"], ["next_state"]) // (1 - u) n + u h
            .Node("Gemm", ["next_state", "w_out", "b_out"], ["logits"], OnnxGraph.Int("transB", 1))
            .Output("logits", v)
            .Output("next_state", h)
            .ToBytes(Producer);
    }

    public static byte[] DecoderInit(SentenceVae vae)
    {
        var config = vae.Config;
        var weights = Weights(vae);
        var latentWeights = config.UsesLatent ? weights["latentToHidden.weight"] : new float[config.HiddenSize * config.LatentSize];
        return new OnnxGraph("decoder_init")
            .Input("z", DataType.Float, config.LatentSize)
            .Initializer("w", latentWeights, config.HiddenSize, config.LatentSize)
            .Initializer("b", weights["latentToHidden.bias"], config.HiddenSize)
            .Node("Gemm", ["z", "w", "b"], ["pre"], OnnxGraph.Int("transB", 1))
            .Node("Tanh", ["pre"], ["state"])
            .Output("state", config.HiddenSize)
            .ToBytes(Producer);
    }

    /// <summary>The latent generator: noise [B, N] -> z [B, L] (Gemm, Relu, Gemm, Relu, Gemm).</summary>
    public static void WriteLatentGenerator(LatentGenerator generator, string directory)
    {
        var config = generator.Config;
        var weights = Weights(generator);
        var bytes = new OnnxGraph("latent_generator")
            .Input("noise", DataType.Float, config.NoiseSize)
            .Initializer("w1", weights["input.weight"], config.HiddenSize, config.NoiseSize)
            .Initializer("b1", weights["input.bias"], config.HiddenSize)
            .Initializer("w2", weights["hidden.weight"], config.HiddenSize, config.HiddenSize)
            .Initializer("b2", weights["hidden.bias"], config.HiddenSize)
            .Initializer("w3", weights["output.weight"], config.LatentSize, config.HiddenSize)
            .Initializer("b3", weights["output.bias"], config.LatentSize)
            .Node("Gemm", ["noise", "w1", "b1"], ["a1"], OnnxGraph.Int("transB", 1))
            .Node("Relu", ["a1"], ["r1"])
            .Node("Gemm", ["r1", "w2", "b2"], ["a2"], OnnxGraph.Int("transB", 1))
            .Node("Relu", ["a2"], ["r2"])
            .Node("Gemm", ["r2", "w3", "b3"], ["z"], OnnxGraph.Int("transB", 1))
            .Output("z", config.LatentSize)
            .ToBytes(Producer);
        File.WriteAllBytes(Path.Combine(directory, LatentGeneratorFile), bytes);
    }

    private static Dictionary<string, float[]> Weights(TorchSharp.torch.nn.Module module)
    {
        using var noGrad = no_grad();
        return module.named_parameters().ToDictionary(p => p.name, p => p.parameter.contiguous().data<float>().ToArray());
    }

    private static void ZeroColumns(float[] matrix, long rows, long columns, long from)
    {
        for (var row = 0L; row < rows; row++)
        {
            Array.Clear(matrix, (int)(row * columns + from), (int)(columns - from));
        }
    }
}
