using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;
using Microsoft.Extensions.Options;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// Runs one generation: a latent code (the encoder's code for the prompt, or a prior sample),
/// then decode, sample, detokenize and apply stop strings token by token, writing a chunk per
/// token into a bounded channel (decoding waits when the client reads slowly), then the final.
/// </summary>
public sealed class GenerationEngine(
    LlmMesh.Contracts.V1.Encoder.EncoderClient encoder,
    Tokenizer.TokenizerClient tokenizer,
    GenerationTelemetry telemetry,
    IOptions<GeneratorOptions> options)
{
    public async Task RunAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, ChannelWriter<GenerateResponse> output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var model = lease.Model;
        using var activity = GenerationTelemetry.StartGeneration(lease.Info.Version, request);
        var random = new SplitMixRandom(request.Seed);

        var promptStarted = Stopwatch.GetTimestamp();
        var (z, promptTokens) = request.Prompt.Length == 0
            ? (LatentSampler.Prior(model.Config.LatentSize, random), 0)
            : await EncodePromptAsync(lease, request, cancellationToken);
        var promptTime = Stopwatch.GetElapsedTime(promptStarted);

        var banned = new List<int> { model.Config.PadId, model.Config.BosId, model.Config.UnkId };
        if (request.IgnoreEos)
        {
            banned.Add(model.Config.EosId);
        }
        var sampler = new TokenSampler(request.Sampling, banned);
        var stops = new StopSequenceMatcher(request.Stop);
        await using var detokenizer = CreateDetokenizer(model);
        using var decoding = model.StartDecoding(z);

        var generated = new List<int>(request.MaxTokens);
        var text = new StringBuilder();
        TimeSpan? firstToken = null;
        var finishReason = "length";
        var token = model.Config.BosId;
        while (generated.Count < request.MaxTokens)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // The client left (nothing more is delivered) or the service is stopping (the
                // client still gets the final message).
                telemetry.Record(lease.Info.Version, "cancelled", promptTokens, generated.Count, Stopwatch.GetElapsedTime(started), firstToken, activity);
                output.TryWrite(Final("cancelled", text.ToString(), generated.Count));
                return;
            }
            token = sampler.Sample(decoding.Step(token), generated, random);
            if (token == model.Config.EosId)
            {
                finishReason = "eos";
                break;
            }
            generated.Add(token);
            var emitted = stops.Push(await detokenizer.AppendAsync(token, cancellationToken));
            text.Append(emitted);
            await output.WriteAsync(new GenerateResponse { Chunk = new GenerateChunk { Text = emitted, TokenIds = { token } } }, cancellationToken);
            firstToken ??= Stopwatch.GetElapsedTime(started);
            if (stops.Matched is not null)
            {
                finishReason = "stop";
                break;
            }
        }

        var tail = stops.Push(await detokenizer.FlushAsync(cancellationToken));
        tail += stops.Matched is null ? stops.Flush() : "";
        if (stops.Matched is not null)
        {
            finishReason = "stop";
        }
        if (tail.Length > 0)
        {
            text.Append(tail);
            await output.WriteAsync(new GenerateResponse { Chunk = new GenerateChunk { Text = tail } }, cancellationToken);
        }

        telemetry.Record(lease.Info.Version, finishReason, promptTokens, generated.Count, Stopwatch.GetElapsedTime(started), firstToken, activity);
        await output.WriteAsync(Final(finishReason, text.ToString(), generated.Count, stops.Matched), cancellationToken);

        GenerateResponse Final(string reason, string emitted, int completionTokens, string? stop = null)
        {
            var total = Stopwatch.GetElapsedTime(started);
            return new GenerateResponse
            {
                Final = new GenerateFinal
                {
                    FinishReason = reason,
                    Seed = request.Seed,
                    BundleVersion = lease.Info.Version,
                    StopSequence = stop ?? "",
                    Text = emitted,
                    Usage = new Usage { PromptTokens = promptTokens, CompletionTokens = completionTokens, TotalTokens = promptTokens + completionTokens },
                    Timings = new Timings
                    {
                        TimeToFirstTokenMs = (firstToken ?? total).TotalMilliseconds,
                        TotalMs = total.TotalMilliseconds,
                        TokensPerSecond = completionTokens > 1 && firstToken is { } first && total > first
                            ? (completionTokens - 1) / (total - first).TotalSeconds
                            : 0,
                        PromptMs = promptTime.TotalMilliseconds,
                    },
                },
            };
        }
    }

    private async Task<(float[] Z, int Tokens)> EncodePromptAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, CancellationToken cancellationToken)
    {
        // Pinned to this bundle: the code must come from the encoder that matches this decoder.
        var response = await encoder.EncodeAsync(new EncodeTextsRequest
        {
            Texts = { request.Prompt },
            Seed = request.Seed,
            BundleVersion = lease.Info.Version,
        }, cancellationToken: cancellationToken);
        var code = response.Codes.Count == 1
            ? response.Codes[0]
            : throw new RpcException(new Status(StatusCode.Internal, "the encoder returned no code for the prompt"));
        return (LatentSampler.Vary(code.Mu.ToArray(), code.Z.ToArray(), request.Variation), code.Tokens);
    }

    private IStreamingDetokenizer CreateDetokenizer(GeneratorModel model) =>
        options.Value.Detokenization == DetokenizationMode.Local && model.Vocabulary is { } vocabulary
            ? new LocalDetokenizer(vocabulary)
            : new TokenizerDetokenizer(tokenizer, model.Bundle.Manifest.TokenizerVersion);
}
