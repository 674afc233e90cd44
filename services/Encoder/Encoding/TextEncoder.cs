using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;

namespace LlmMesh.Encoder.Encoding;

public sealed record EncodedText(float[] Mu, float[] LogVar, float[] Z, int Tokens);

/// <summary>What Encoder.Nearest searches around: a text or a code (exactly one is set).</summary>
public sealed record NearestQuery(string? Text, float[]? Latent);

/// <summary>Texts -> tokens (through the tokenizer, with the bundle's vocabulary) -> mu, logvar and a seeded z.</summary>
public sealed class TextEncoder(Tokenizer.TokenizerClient tokenizer)
{
    public async Task<IReadOnlyList<EncodedText>> EncodeAsync(
        ModelLease<EncoderModel> lease, IReadOnlyList<string> texts, ulong seed, CancellationToken cancellationToken)
    {
        var vocabulary = lease.Info.Bundle.Manifest.TokenizerVersion;
        var sentences = await TokenizeAsync(texts, vocabulary, cancellationToken);
        for (var i = 0; i < sentences.Count; i++)
        {
            if (sentences[i].Length == 0)
            {
                throw new ArgumentException($"texts[{i}] has no tokens");
            }
        }
        var (mu, logVar) = lease.Model.Encode(sentences);
        var random = new SplitMixRandom(seed);
        return mu.Select((m, i) => new EncodedText(m, logVar[i], LatentSampler.Posterior(m, logVar[i], random), sentences[i].Length)).ToArray();
    }

    /// <summary>The training sentences nearest a text's mean code, or a code (exactly the model's latent size, finite).</summary>
    public async Task<(IReadOnlyList<LatentNeighbor> Neighbors, float[] Query)> NearestAsync(
        ModelLease<EncoderModel> lease, NearestQuery query, int k, CancellationToken cancellationToken)
    {
        var index = lease.Model.Index;
        var code = query.Latent is { } latent
            ? LatentCodes.RequireSize(latent, lease.Model.Config.LatentSize, lease.Info, "latent")
            : (await EncodeAsync(lease, [query.Text!], seed: 0, cancellationToken))[0].Mu;
        return (index.Nearest(code, k), code);
    }

    private async Task<IReadOnlyList<int[]>> TokenizeAsync(IReadOnlyList<string> texts, string vocabulary, CancellationToken cancellationToken)
    {
        if (texts.Count == 1)
        {
            var response = await tokenizer.EncodeAsync(new EncodeRequest { Text = texts[0], VocabularyVersion = vocabulary }, cancellationToken: cancellationToken);
            return [[.. response.Ids]];
        }
        return await tokenizer.EncodeAllAsync(texts, vocabulary, cancellationToken);
    }
}
