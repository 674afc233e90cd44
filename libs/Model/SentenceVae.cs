using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// Sentence VAE (Bowman et al. 2016). Encoder: embedding + bidirectional GRU over the sentence,
/// final states -> mu, logvar. Decoder: GRU whose initial state is set from z and whose every
/// input is the token embedding concatenated with z; a linear layer gives next-token logits (or,
/// with tied embeddings, a projection to the embedding size followed by the embeddings
/// themselves); optionally z also enters that output layer (<see cref="VaeConfig.LatentToOutput"/>). Dropout applies only when a dropout generator is passed (training): it draws
/// its masks from that generator, so a training step depends on its seed alone.
/// Training and serving share these methods.
/// </summary>
public sealed class SentenceVae : nn.Module
{
    private readonly Embedding embedding;
    private readonly GRU encoder;
    private readonly Linear toMu;
    private readonly Linear toLogVar;
    private readonly Linear latentToHidden;
    private readonly GRU decoder;
    private readonly Linear? output;
    private readonly Linear? outputProjection;
    private readonly Parameter? outputBias;
    // z's term in the output layer, before the tied embeddings when they are used.
    private readonly Linear? latentToOutput;

    public SentenceVae(VaeConfig config) : base(nameof(SentenceVae))
    {
        config.Validate();
        Config = config;
        embedding = nn.Embedding(config.VocabularySize, config.EmbeddingSize, padding_idx: config.PadId);
        encoder = nn.GRU(config.EmbeddingSize, config.HiddenSize, batchFirst: true, bidirectional: true);
        toMu = nn.Linear(2 * config.HiddenSize, config.LatentSize);
        toLogVar = nn.Linear(2 * config.HiddenSize, config.LatentSize);
        latentToHidden = nn.Linear(config.LatentSize, config.HiddenSize);
        decoder = nn.GRU(config.EmbeddingSize + config.LatentSize, config.HiddenSize, batchFirst: true);
        if (config.TieEmbeddings)
        {
            outputProjection = nn.Linear(config.HiddenSize, config.EmbeddingSize);
            outputBias = nn.Parameter(zeros(config.VocabularySize));
        }
        else
        {
            output = nn.Linear(config.HiddenSize, config.VocabularySize);
        }
        if (config.LatentToOutput)
        {
            latentToOutput = nn.Linear(config.LatentSize, config.TieEmbeddings ? config.EmbeddingSize : config.VocabularySize, hasBias: false);
        }
        RegisterComponents();
    }

    public VaeConfig Config { get; }

    /// <summary>Encodes right-padded sentences [B, T] of the given lengths [B] (each at least 1) to mu and logvar [B, L].</summary>
    public (Tensor Mu, Tensor LogVar) Encode(Tensor tokens, Tensor lengths, Generator? dropout = null)
    {
        if (!Config.UsesLatent)
        {
            // The posterior of a plain language model is the prior: KL 0, and z is ignored anyway.
            return (zeros(tokens.shape[0], Config.LatentSize), zeros(tokens.shape[0], Config.LatentSize));
        }
        using var scope = NewDisposeScope();
        var packed = nn.utils.rnn.pack_padded_sequence(Dropout(embedding.call(tokens), dropout), lengths, batch_first: true, enforce_sorted: false);
        var (_, final) = encoder.call(packed, null);
        // final: [2, B, H] (forward, backward) -> [B, 2H]
        var summary = cat([final[0], final[1]], 1);
        return scope.MoveToOuter(toMu.call(summary), toLogVar.call(summary));
    }

    /// <summary>z = mu + sigma * eps, eps ~ N(0, I) drawn from <paramref name="generator"/>.</summary>
    public static Tensor Reparameterize(Tensor mu, Tensor logVar, Generator generator)
    {
        using var scope = NewDisposeScope();
        var eps = randn(mu.shape, generator: generator);
        return scope.MoveToOuter(mu.Plus(eps * logVar.Times(0.5).exp()));
    }

    /// <summary>
    /// Initializes every weight from <paramref name="generator"/> with PyTorch's default schemes, so
    /// a model depends on its seed only, never on other users of the global generator.
    /// </summary>
    public void ResetParameters(Generator generator)
    {
        using var noGrad = no_grad();
        // Tied embeddings are also the output layer: unit-variance rows would start it with huge logits.
        embedding.weight!.normal_(0, Config.TieEmbeddings ? 1 / Math.Sqrt(Config.EmbeddingSize) : 1, generator);
        embedding.weight[Config.PadId].zero_();
        foreach (var gru in new[] { encoder, decoder })
        {
            var bound = 1.0 / Math.Sqrt(Config.HiddenSize);
            foreach (var parameter in gru.parameters())
            {
                parameter.uniform_(-bound, bound, generator);
            }
        }
        Initialization.Uniform(new[] { toMu, toLogVar, latentToHidden, output, outputProjection, latentToOutput }.OfType<Linear>(), generator);
        outputBias?.zero_();
    }

    /// <summary>The decoder's initial state [1, B, H] for latent codes z [B, L].</summary>
    public Tensor InitialState(Tensor z) => latentToHidden.call(Latent(z)).tanh().unsqueeze(0);

    /// <summary>Teacher-forced decoding: inputs [B, T] (starting with &lt;bos&gt;) -> logits [B, T, V].</summary>
    public Tensor Decode(Tensor inputs, Tensor z, Generator? dropout = null)
    {
        using var scope = NewDisposeScope();
        var steps = inputs.shape[1];
        var embedded = Dropout(embedding.call(inputs), dropout);
        var latent = Latent(z).unsqueeze(1).expand(z.shape[0], steps, z.shape[1]);
        var (hidden, _) = decoder.call(cat([embedded, latent], 2), InitialState(z));
        return scope.MoveToOuter(Logits(Dropout(hidden, dropout), z.unsqueeze(1)));
    }

    /// <summary>One decoder step for a batch: tokens [B], state [1, B, H], z [B, L] -> logits [B, V] and the new state.</summary>
    public (Tensor Logits, Tensor State) DecodeStep(Tensor tokens, Tensor state, Tensor z)
    {
        using var scope = NewDisposeScope();
        var input = cat([embedding.call(tokens), Latent(z)], 1).unsqueeze(1);
        var (hidden, next) = decoder.call(input, state);
        return scope.MoveToOuter(Logits(hidden.squeeze(1), z), next);
    }

    /// <summary>
    /// The output layer's affine map of the decoder state: weight [V, H] and bias [V] (tied
    /// embeddings folded in), as serving backends apply it; <see cref="LatentOutputWeight"/> adds z's term.
    /// </summary>
    public (Tensor Weight, Tensor Bias) OutputLayer()
    {
        using var noGrad = no_grad();
        if (output is not null)
        {
            return (output.weight!.detach().clone(), output.bias!.detach().clone());
        }
        var table = embedding.weight!;
        return (table.matmul(outputProjection!.weight!), table.matmul(outputProjection.bias!).Plus(outputBias!));
    }

    /// <summary>The output layer's weight [V, L] for z (tied embeddings folded in); null when z does not enter it.</summary>
    public Tensor? LatentOutputWeight()
    {
        using var noGrad = no_grad();
        return latentToOutput is null ? null
            : output is not null ? latentToOutput.weight!.detach().clone()
            : embedding.weight!.matmul(latentToOutput.weight!);
    }

    /// <summary>Next-token logits of decoder states [.., H] for codes z broadcastable to them ([.., L]).</summary>
    private Tensor Logits(Tensor hidden, Tensor z)
    {
        if (output is not null)
        {
            var logits = output.call(hidden);
            return latentToOutput is null ? logits : logits.Plus(latentToOutput.call(z));
        }
        var projected = outputProjection!.call(hidden);
        return nn.functional.linear(latentToOutput is null ? projected : projected.Plus(latentToOutput.call(z)), embedding.weight!, outputBias);
    }

    /// <summary>Inverted dropout with masks from <paramref name="generator"/>; identity without one.</summary>
    private Tensor Dropout(Tensor input, Generator? generator)
    {
        if (generator is null || Config.Dropout <= 0)
        {
            return input;
        }
        var keep = 1 - Config.Dropout;
        return (input * rand(input.shape, generator: generator).LessThan(keep).to_type(input.dtype)).Over(keep);
    }

    private Tensor Latent(Tensor z) => Config.UsesLatent ? z : zeros_like(z);
}
