using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Options;

namespace LlmMesh.Discriminator.Scoring;

/// <summary>
/// Scores inputs with one model: latents go straight to the critic; texts go through the encoder
/// (their code, pinned to this bundle) and the tokenizer (for the fluency discriminator).
/// </summary>
public sealed class Scorer(
    LlmMesh.Contracts.V1.Encoder.EncoderClient encoder, Tokenizer.TokenizerClient tokenizer, IOptions<DiscriminatorOptions> options)
{
    /// <param name="batch">Errors name the input as inputs[i] (ScoreBatch) rather than by its field alone (one Score message).</param>
    public async Task<IReadOnlyList<ScoreResponse>> ScoreAsync(
        ModelLease<DiscriminatorModel> lease, IReadOnlyList<ScoreInput> inputs, bool batch, CancellationToken cancellationToken)
    {
        Validate(lease.Model, inputs, batch);
        var model = lease.Model;
        var version = lease.Info.Version;
        var results = new ScoreResponse[inputs.Count];

        var latentIndices = Enumerable.Range(0, inputs.Count).Where(i => inputs[i].InputCase == ScoreInput.InputOneofCase.Latent).ToArray();
        var latentScores = model.CriticScores(latentIndices.Select(i => inputs[i].Latent.Values.ToArray()).ToArray());
        for (var n = 0; n < latentIndices.Length; n++)
        {
            results[latentIndices[n]] = new ScoreResponse
            {
                Score = latentScores[n],
                Probability = model.Calibration.Latent.Probability(latentScores[n]),
                BundleVersion = version,
            };
        }

        var textIndices = Enumerable.Range(0, inputs.Count).Where(i => inputs[i].InputCase == ScoreInput.InputOneofCase.Text).ToArray();
        if (textIndices.Length > 0)
        {
            var texts = textIndices.Select(i => inputs[i].Text).ToArray();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var codes = encoder.EncodeAsync(new EncodeTextsRequest { Texts = { texts }, Seed = 0, BundleVersion = version }, cancellationToken: stop.Token).ResponseAsync;
            var tokens = tokenizer.EncodeAllAsync(texts, lease.Info.Bundle.Manifest.TokenizerVersion, stop.Token);
            await TaskPair.WhenBothAsync(codes, tokens, stop);
            var criticScores = model.CriticScores((await codes).Codes.Select(c => c.Mu.ToArray()).ToArray());
            var fluency = model.Fluency(await tokens);
            for (var n = 0; n < textIndices.Length; n++)
            {
                results[textIndices[n]] = new ScoreResponse
                {
                    Score = criticScores[n],
                    Fluency = fluency[n],
                    Probability = model.Calibration.Text.Probability(criticScores[n], fluency[n]),
                    BundleVersion = version,
                };
            }
        }
        return results;
    }

    private void Validate(DiscriminatorModel model, IReadOnlyList<ScoreInput> inputs, bool batch)
    {
        var limits = options.Value;
        if (inputs.Count == 0)
        {
            throw Invalid("inputs is empty");
        }
        if (inputs.Count > limits.MaxInputs)
        {
            throw Invalid($"inputs: {inputs.Count} inputs exceed the limit of {limits.MaxInputs} per request (Discriminator:MaxInputs)");
        }
        for (var i = 0; i < inputs.Count; i++)
        {
            var prefix = batch ? $"inputs[{i}]." : "";
            switch (inputs[i].InputCase)
            {
                case ScoreInput.InputOneofCase.Text when string.IsNullOrWhiteSpace(inputs[i].Text):
                    throw Invalid($"{prefix}text is empty");
                case ScoreInput.InputOneofCase.Text when System.Text.Encoding.UTF8.GetByteCount(inputs[i].Text) > limits.MaxTextBytes:
                    throw Invalid($"{prefix}text exceeds the limit of {limits.MaxTextBytes} bytes (Discriminator:MaxTextBytes)");
                case ScoreInput.InputOneofCase.Latent:
                    var values = inputs[i].Latent.Values;
                    if (values.Count != model.LatentSize)
                    {
                        throw Invalid($"{prefix}latent has {values.Count} values; the model's latent size is {model.LatentSize}");
                    }
                    for (var d = 0; d < values.Count; d++)
                    {
                        if (!float.IsFinite(values[d]))
                        {
                            throw Invalid($"{prefix}latent[{d}] is {values[d]}; values must be finite");
                        }
                    }
                    break;
                case ScoreInput.InputOneofCase.None:
                    throw Invalid($"{prefix}input: set text or latent");
            }
        }
    }

    private static ArgumentException Invalid(string message) => new(message);
}
