using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>G(noise) -> z: an MLP that learns to produce codes like the encoder's.</summary>
public sealed class LatentGenerator : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly Linear hidden;
    private readonly Linear output;

    public LatentGenerator(LatentGanConfig config) : base(nameof(LatentGenerator))
    {
        config.Validate();
        Config = config;
        input = nn.Linear(config.NoiseSize, config.HiddenSize);
        hidden = nn.Linear(config.HiddenSize, config.HiddenSize);
        output = nn.Linear(config.HiddenSize, config.LatentSize);
        RegisterComponents();
    }

    public LatentGanConfig Config { get; }

    public override Tensor forward(Tensor noise) =>
        output.call(nn.functional.relu(hidden.call(nn.functional.relu(input.call(noise)))));

    public void ResetParameters(Generator generator) => Initialization.Uniform([input, hidden, output], generator);
}

/// <summary>D(z) -> score: a WGAN critic (no normalisation layers: the gradient penalty needs per-sample gradients).</summary>
public sealed class LatentCritic : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly Linear hidden;
    private readonly Linear output;

    public LatentCritic(LatentGanConfig config) : base(nameof(LatentCritic))
    {
        config.Validate();
        Config = config;
        input = nn.Linear(config.LatentSize, config.HiddenSize);
        hidden = nn.Linear(config.HiddenSize, config.HiddenSize);
        output = nn.Linear(config.HiddenSize, 1);
        RegisterComponents();
    }

    public LatentGanConfig Config { get; }

    /// <summary>Scores [B, L] codes; higher = more like real codes.</summary>
    public override Tensor forward(Tensor z) =>
        output.call(hidden.call(input.call(z).LeakyRelu(0.2)).LeakyRelu(0.2)).squeeze(1);

    public void ResetParameters(Generator generator) => Initialization.Uniform([input, hidden, output], generator);
}

internal static class Initialization
{
    /// <summary>PyTorch's default Linear initialisation, drawn from a given generator.</summary>
    public static void Uniform(IEnumerable<Linear> layers, Generator generator)
    {
        using var noGrad = no_grad();
        foreach (var linear in layers)
        {
            var bound = 1.0 / Math.Sqrt(linear.weight!.shape[1]);
            linear.weight.uniform_(-bound, bound, generator);
            linear.bias?.uniform_(-bound, bound, generator);
        }
    }
}
