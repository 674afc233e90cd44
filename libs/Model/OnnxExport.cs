using LlmMesh.Onnx;
using LlmMesh.Onnx.Proto;
using static LlmMesh.Onnx.Proto.TensorProto.Types;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Exports bundle models to ONNX. The decoder is built from basic operators in PyTorch's GRU gate
/// order (r, z, n): <see cref="OnnxGraphs.DecoderStepFile"/> maps (token [B], state [B, H], z [B, L]) to
/// (logits [B, V], next_state [B, H]), z entering the logits too when the model feeds it to its output layer; <see cref="OnnxGraphs.DecoderInitFile"/> maps z [B, L] to the initial
/// state [B, H]. Sentence readers (<see cref="OnnxGraphs.EncoderFile"/>, <see cref="OnnxGraphs.TextDiscriminatorFile"/>)
/// map right-padded tokens [B, T] (int64) and lengths [B] (int32) through ONNX's bidirectional GRU
/// with sequence lengths, as PyTorch's packed sequences. A plain language model exports with its z
/// weights zeroed (z is ignored) and an encoder that returns the prior (mu = logvar = 0).
/// </summary>
public static class OnnxExport
{
    private const string Producer = "LlmMesh";

    /// <summary>Writes the VAE's decoder step, decoder init and encoder graphs.</summary>
    public static void WriteVae(SentenceVae vae, string directory)
    {
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.DecoderStepFile), DecoderStep(vae));
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.DecoderInitFile), DecoderInit(vae));
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.EncoderFile), Encoder(vae));
    }

    /// <summary>(tokens [B, T], lengths [B]) -> (mu [B, L], logvar [B, L]).</summary>
    public static byte[] Encoder(SentenceVae vae)
    {
        var config = vae.Config;
        var (h, l) = ((long)config.HiddenSize, (long)config.LatentSize);
        var weights = Weights(vae);
        if (!config.UsesLatent)
        {
            foreach (var name in new[] { "toMu.weight", "toMu.bias", "toLogVar.weight", "toLogVar.bias" })
            {
                Array.Clear(weights[name]);
            }
        }
        return SentenceReader("encoder", weights, config.VocabularySize, config.EmbeddingSize, config.HiddenSize)
            .Initializer("w_mu", weights["toMu.weight"], l, 2 * h)
            .Initializer("b_mu", weights["toMu.bias"], l)
            .Initializer("w_logvar", weights["toLogVar.weight"], l, 2 * h)
            .Initializer("b_logvar", weights["toLogVar.bias"], l)
            .Node("Gemm", ["summary", "w_mu", "b_mu"], ["mu"], OnnxGraph.Int("transB", 1))
            .Node("Gemm", ["summary", "w_logvar", "b_logvar"], ["logvar"], OnnxGraph.Int("transB", 1))
            .Output("mu", l)
            .Output("logvar", l)
            .ToBytes(Producer);
    }

    /// <summary>The fluency discriminator: (tokens [B, T], lengths [B]) -> logit [B, 1].</summary>
    public static void WriteTextDiscriminator(TextDiscriminator discriminator, string directory)
    {
        var config = discriminator.Config;
        var weights = Weights(discriminator);
        var bytes = SentenceReader("text_discriminator", weights, config.VocabularySize, config.EmbeddingSize, config.HiddenSize)
            .Initializer("w_out", weights["output.weight"], 1, 2L * config.HiddenSize)
            .Initializer("b_out", weights["output.bias"], 1)
            .Node("Gemm", ["summary", "w_out", "b_out"], ["logit"], OnnxGraph.Int("transB", 1))
            .Output("logit", 1)
            .ToBytes(Producer);
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.TextDiscriminatorFile), bytes);
    }

    /// <summary>The latent critic: z [B, L] -> score [B, 1] (Gemm, LeakyRelu, Gemm, LeakyRelu, Gemm).</summary>
    public static void WriteCritic(LatentCritic critic, string directory)
    {
        var config = critic.Config;
        var bytes = Perceptron("latent_critic", critic, ("z", config.LatentSize), config.HiddenSize, ("score", 1), "LeakyRelu", OnnxGraph.Float("alpha", 0.2f));
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.CriticFile), bytes);
    }

    /// <summary>
    /// Inputs tokens [B, T] and lengths [B] read by "embedding" and the bidirectional "encoder" GRU
    /// into "summary" [B, 2H]: the final forward and backward states side by side.
    /// </summary>
    private static OnnxGraph SentenceReader(string name, Dictionary<string, float[]> weights, long v, long e, long h)
    {
        float[] Directions(string parameter) => [.. UpdateGateFirst(weights[$"encoder.{parameter}_l0"]), .. UpdateGateFirst(weights[$"encoder.{parameter}_l0_reverse"])];
        float[] Biases(string suffix) =>
            [.. UpdateGateFirst(weights[$"encoder.bias_ih_l0{suffix}"]), .. UpdateGateFirst(weights[$"encoder.bias_hh_l0{suffix}"])];
        return new OnnxGraph(name)
            .SequenceInput("tokens", DataType.Int64)
            .Input("lengths", DataType.Int32)
            .Initializer("embedding", weights["embedding.weight"], v, e)
            .Initializer("w", Directions("weight_ih"), 2, 3 * h, e)
            .Initializer("r", Directions("weight_hh"), 2, 3 * h, h)
            .Initializer("b", [.. Biases(""), .. Biases("_reverse")], 2, 6 * h)
            .Initializer("summary_shape", new[] { 0, 2 * h }, 2)
            .Node("Gather", ["embedding", "tokens"], ["embedded"], OnnxGraph.Int("axis", 0))
            .Node("Transpose", ["embedded"], ["time_major"], OnnxGraph.Ints("perm", 1, 0, 2))
            .Node("GRU", ["time_major", "w", "r", "b", "lengths"], ["", "final"],
                OnnxGraph.Int("hidden_size", h), OnnxGraph.String("direction", "bidirectional"), OnnxGraph.Int("linear_before_reset", 1))
            .Node("Transpose", ["final"], ["batch_major"], OnnxGraph.Ints("perm", 1, 0, 2))
            .Node("Reshape", ["batch_major", "summary_shape"], ["summary"]);
    }

    /// <summary>PyTorch stacks GRU gates as (reset, update, new); ONNX as (update, reset, new).</summary>
    private static float[] UpdateGateFirst(float[] gates)
    {
        var block = gates.Length / 3;
        return [.. gates.AsSpan(block, block), .. gates.AsSpan(0, block), .. gates.AsSpan(2 * block, block)];
    }

    /// <summary>
    /// One decoder step. The token's part of the GRU input projection is precomputed for every
    /// token (embedding x W_ih[:, :E] + b_ih, a [V, 3H] table): a step gathers one row of it
    /// instead of reading the embedding and its weights, so less memory moves per token.
    /// </summary>
    public static byte[] DecoderStep(SentenceVae vae)
    {
        var config = vae.Config;
        var (v, e, h, l) = ((long)config.VocabularySize, (long)config.EmbeddingSize, (long)config.HiddenSize, (long)config.LatentSize);
        var weights = Weights(vae);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parameters = vae.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var inputWeights = parameters["decoder.weight_ih_l0"];
        var tokenTable = parameters["embedding.weight"].matmul(inputWeights.narrow(1, 0, e).t()).Plus(parameters["decoder.bias_ih_l0"]);
        var latentWeights = config.UsesLatent ? inputWeights.narrow(1, e, l).contiguous().data<float>().ToArray() : new float[3 * h * l];
        var (outputWeight, outputBias) = vae.OutputLayer();
        var latentOutputWeight = vae.LatentOutputWeight();
        var graph = new OnnxGraph("decoder_step")
            .Input("token", DataType.Int64)
            .Input("state", DataType.Float, h)
            .Input("z", DataType.Float, l)
            .Initializer("token_gates", tokenTable.contiguous().data<float>().ToArray(), v, 3 * h)
            .Initializer("w_iz", latentWeights, 3 * h, l)
            .Initializer("w_hh", weights["decoder.weight_hh_l0"], 3 * h, h)
            .Initializer("b_hh", weights["decoder.bias_hh_l0"], 3 * h)
            .Initializer("w_out", outputWeight.contiguous().data<float>().ToArray(), v, h)
            .Initializer("b_out", outputBias.contiguous().data<float>().ToArray(), v)
            .Initializer("gate_sizes", new[] { h, h, h }, 3)
            .Node("Gather", ["token_gates", "token"], ["gi_token"], OnnxGraph.Int("axis", 0))
            .Node("Gemm", ["z", "w_iz", "gi_token"], ["gi"], OnnxGraph.Int("transB", 1))
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
            .Node("Gemm", ["next_state", "w_out", "b_out"], [latentOutputWeight is null ? "logits" : "state_logits"], OnnxGraph.Int("transB", 1));
        if (latentOutputWeight is not null)
        {
            graph.Initializer("w_z_out", latentOutputWeight.contiguous().data<float>().ToArray(), v, l)
                .Node("Gemm", ["z", "w_z_out", "state_logits"], ["logits"], OnnxGraph.Int("transB", 1));
        }
        return graph
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
        var bytes = Perceptron("latent_generator", generator, ("noise", config.NoiseSize), config.HiddenSize, ("z", config.LatentSize), "Relu");
        File.WriteAllBytes(Path.Combine(directory, OnnxGraphs.LatentGeneratorFile), bytes);
    }

    /// <summary>The three linear layers "input", "hidden" and "output" of a module with an activation after the first two.</summary>
    private static byte[] Perceptron(string name, TorchSharp.torch.nn.Module module, (string Name, long Size) input, long hiddenSize,
        (string Name, long Size) output, string activation, params AttributeProto[] activationAttributes)
    {
        var weights = Weights(module);
        return new OnnxGraph(name)
            .Input(input.Name, DataType.Float, input.Size)
            .Initializer("w1", weights["input.weight"], hiddenSize, input.Size)
            .Initializer("b1", weights["input.bias"], hiddenSize)
            .Initializer("w2", weights["hidden.weight"], hiddenSize, hiddenSize)
            .Initializer("b2", weights["hidden.bias"], hiddenSize)
            .Initializer("w3", weights["output.weight"], output.Size, hiddenSize)
            .Initializer("b3", weights["output.bias"], output.Size)
            .Node("Gemm", [input.Name, "w1", "b1"], ["a1"], OnnxGraph.Int("transB", 1))
            .Node(activation, ["a1"], ["r1"], activationAttributes)
            .Node("Gemm", ["r1", "w2", "b2"], ["a2"], OnnxGraph.Int("transB", 1))
            .Node(activation, ["a2"], ["r2"], activationAttributes)
            .Node("Gemm", ["r2", "w3", "b3"], [output.Name], OnnxGraph.Int("transB", 1))
            .Output(output.Name, output.Size)
            .ToBytes(Producer);
    }

    private static Dictionary<string, float[]> Weights(TorchSharp.torch.nn.Module module)
    {
        using var noGrad = no_grad();
        return module.named_parameters().ToDictionary(p => p.name, p => p.parameter.contiguous().data<float>().ToArray());
    }
}
