using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Model;
using LlmMesh.Serving.Batching;
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
    LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient discriminator,
    GenerationTelemetry telemetry,
    IOptions<GeneratorOptions> options,
    IOptions<ServingOptions> serving)
{
    /// <summary>This replica's name, stamped on every final message.</summary>
    private string Instance => serving.Value.Instance;

    public Task RunAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, ChannelWriter<GenerateResponse> output, CancellationToken cancellationToken)
    {
        if (request.LmWeight > 0 && !lease.Model.HasLanguageModel)
        {
            throw new MeshException(MeshErrorKind.FailedPrecondition,
                $"lm_weight: bundle {lease.Info.Version} was trained with no code withheld (unconditional_rate 0), so it has no plain language model to mix in");
        }
        return request.BestOf > 1 ? RunBestOfAsync(lease, request, output, cancellationToken) : RunOneAsync(lease, request, output, cancellationToken);
    }

    /// <summary>
    /// best_of: every candidate is generated to the end (candidate i with a seed derived from the
    /// request's), the discriminator scores them all, and the best is streamed. When the best-of is
    /// the model's default rather than the client's and the discriminator cannot be reached, the
    /// first candidate is streamed as a plain generation: the default must not make unconditioned
    /// text depend on another service.
    /// </summary>
    private async Task RunBestOfAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, ChannelWriter<GenerateResponse> output, CancellationToken cancellationToken)
    {
        if (!lease.Model.HasDiscriminator)
        {
            if (request.BestOfFromModel)
            {
                await RunOneAsync(lease, request with { BestOf = 1 }, output, cancellationToken);
                return;
            }
            throw new MeshException(MeshErrorKind.FailedPrecondition,
                $"best_of: bundle {lease.Info.Version} has no discriminator to score candidates (train the adversarial phase)");
        }
        var started = Stopwatch.GetTimestamp();
        var candidates = new List<List<GenerateResponse>>(request.BestOf);
        for (var i = 0; i < request.BestOf; i++)
        {
            var captured = Channel.CreateUnbounded<GenerateResponse>();
            var seed = i == 0 ? request.Seed : unchecked((ulong)Seeds.Derive(unchecked((long)request.Seed), SeedStream.Samples, index: i));
            await RunOneAsync(lease, request with { Seed = seed, BestOf = 1 }, captured.Writer, cancellationToken);
            captured.Writer.Complete();
            candidates.Add(await captured.Reader.ReadAllAsync(cancellationToken).ToListAsync(cancellationToken));
        }
        var finals = candidates.Select(c => c[^1].Final).ToArray();
        if (finals.Any(f => f.FinishReason == "cancelled"))
        {
            await output.WriteAsync(candidates[Array.FindIndex(finals, f => f.FinishReason == "cancelled")][^1], cancellationToken);
            return;
        }

        var scored = Enumerable.Range(0, finals.Length).Where(i => !string.IsNullOrWhiteSpace(finals[i].Text)).ToArray();
        var scores = new ScoreResponse?[finals.Length];
        if (scored.Length > 0)
        {
            var batch = new ScoreBatchRequest { BundleVersion = lease.Info.Version };
            batch.Inputs.AddRange(scored.Select(i => new ScoreInput { Text = finals[i].Text }));
            ScoreBatchResponse response;
            try
            {
                response = await discriminator.ScoreBatchAsync(batch, cancellationToken: cancellationToken);
            }
            catch (RpcException ex) when (request.BestOfFromModel && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
                && !cancellationToken.IsCancellationRequested)
            {
                foreach (var unranked in candidates[0])
                {
                    await output.WriteAsync(unranked, cancellationToken);
                }
                return;
            }
            for (var n = 0; n < scored.Length; n++)
            {
                scores[scored[n]] = response.Results[n];
            }
        }
        var best = Enumerable.Range(0, finals.Length).MaxBy(i => scores[i]?.Probability ?? -1);
        TimeSpan? firstChunk = null;
        foreach (var chunk in candidates[best].SkipLast(1))
        {
            await output.WriteAsync(chunk, cancellationToken);
            firstChunk ??= Stopwatch.GetElapsedTime(started);
        }
        var total = Stopwatch.GetElapsedTime(started);
        var final = finals[best].Clone();
        final.Seed = request.Seed;
        final.Candidates = request.BestOf;
        final.Score = scores[best]?.Score ?? 0;
        final.Probability = scores[best]?.Probability ?? 0;
        // Usage counts every candidate's tokens: they were all generated.
        var completion = finals.Sum(f => f.Usage.CompletionTokens);
        final.Usage = new Usage { PromptTokens = final.Usage.PromptTokens, CompletionTokens = completion, TotalTokens = final.Usage.PromptTokens + completion };
        // Timings of the whole request: the client waited for every candidate and the scoring.
        final.Timings = new Timings
        {
            TimeToFirstTokenMs = (firstChunk ?? total).TotalMilliseconds,
            TotalMs = total.TotalMilliseconds,
            TokensPerSecond = completion / Math.Max(total.TotalSeconds, 1e-9),
            PromptMs = final.Timings.PromptMs,
        };
        await output.WriteAsync(new GenerateResponse { Final = final }, cancellationToken);
    }

    private async Task RunOneAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, ChannelWriter<GenerateResponse> output, CancellationToken cancellationToken)
    {
        var progress = new Progress(lease.Info.Version, Instance, request, Stopwatch.GetTimestamp());
        using var activity = GenerationTelemetry.StartGeneration(lease.Info.Version, request);
        var random = new SplitMixRandom(request.Seed);
        var z = await ChooseCodeAsync(lease, request, random, progress, cancellationToken);
        var stops = new StopSequenceMatcher(request.Stop);
        await using var detokenizer = CreateDetokenizer(lease.Model);
        using var decoding = await lease.Model.Batcher.JoinAsync(z, lease.Model.EffectiveLmWeight(request.LmWeight), cancellationToken);
        try
        {
            await DecodeAsync(lease.Model, decoding, CreateSampler(lease.Model.Config, request), random, detokenizer, stops, output, progress, cancellationToken);
            await FlushAsync(detokenizer, stops, output, progress, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Wherever it lands (a decode step, or waiting for a slow client), cancellation ends the
            // generation as "cancelled": the client left (nothing more is delivered) or the service
            // is stopping (the client still gets the final message).
            progress.FinishReason = "cancelled";
            telemetry.Record(lease.Info.Version, progress.FinishReason, progress.PromptTokens, progress.Generated.Count, progress.Elapsed, progress.FirstToken, activity);
            output.TryWrite(progress.Final());
            return;
        }
        telemetry.Record(lease.Info.Version, progress.FinishReason, progress.PromptTokens, progress.Generated.Count, progress.Elapsed, progress.FirstToken, activity);
        await output.WriteAsync(progress.Final(stops.Matched), cancellationToken);
    }

    /// <summary>The code to decode: the encoder's for the prompt, or a sample of the latent generator or the prior.</summary>
    private async Task<float[]> ChooseCodeAsync(
        ModelLease<GeneratorModel> lease, GenerationRequest request, SplitMixRandom random, Progress progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (z, promptTokens, source) = request.Latent is { } latent ? (RequireLatentSize(lease, latent, "latent"), 0, "latent")
            : request.Prompt.Length > 0 ? await EncodePromptAsync(lease, request, cancellationToken)
            : SampleLatent(lease, request.LatentSource, request.LatentTemperature, random);
        (progress.PromptTokens, progress.LatentSource, progress.PromptTime) = (promptTokens, source, Stopwatch.GetElapsedTime(started));
        return z;
    }

    private static float[] RequireLatentSize(ModelLease<GeneratorModel> lease, float[] code, string field) =>
        LatentCodes.RequireSize(code, lease.Model.Config.LatentSize, lease.Info, field);

    /// <summary>
    /// Decodes the points of a path between two codes (sentences' posterior means, or the client's
    /// codes), at most <see cref="ConcurrentPathSteps"/> at once so that they share decoder batches
    /// without crowding out other requests; each point is written as soon as it is decoded, then the final.
    /// </summary>
    public async Task InterpolateAsync(ModelLease<GeneratorModel> lease, Interpolation request, ChannelWriter<InterpolateResponse> output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (start, end, promptTokens) = await PathEndsAsync(lease, request, cancellationToken);
        var points = LatentPath.Points(start, end, request.Steps, request.Method);
        using var slots = new SemaphoreSlim(ConcurrentPathSteps);
        var completionTokens = 0;
        await Task.WhenAll(points.Select(async (point, index) =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                var step = request.Generation with
                {
                    Latent = point.Code,
                    Seed = unchecked((ulong)Seeds.Derive(unchecked((long)request.Generation.Seed), SeedStream.Samples, index)),
                };
                var decoded = Channel.CreateUnbounded<GenerateResponse>();
                await RunOneAsync(lease, step, decoded.Writer, cancellationToken);
                decoded.Writer.Complete();
                var final = (await decoded.Reader.ReadAllAsync(cancellationToken).LastAsync(cancellationToken)).Final;
                Interlocked.Add(ref completionTokens, final.Usage.CompletionTokens);
                await output.WriteAsync(new InterpolateResponse
                {
                    Step = new InterpolationStep { Index = index, T = point.T, Text = final.Text, Latent = { point.Code }, FinishReason = final.FinishReason },
                }, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }));
        await output.WriteAsync(new InterpolateResponse
        {
            Final = new InterpolateFinal
            {
                BundleVersion = lease.Info.Version,
                Instance = Instance,
                Method = request.Method.ToString().ToLowerInvariant(),
                Steps = request.Steps,
                Seed = request.Generation.Seed,
                Usage = new Usage { PromptTokens = promptTokens, CompletionTokens = completionTokens, TotalTokens = promptTokens + completionTokens },
                TotalMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            },
        }, cancellationToken);
    }

    private const int ConcurrentPathSteps = 16;

    /// <summary>The path's ends: the client's codes, or the mean codes of its two texts from this bundle's encoder.</summary>
    private async Task<(float[] Start, float[] End, int PromptTokens)> PathEndsAsync(
        ModelLease<GeneratorModel> lease, Interpolation request, CancellationToken cancellationToken)
    {
        if (request.StartLatent is { } startLatent && request.EndLatent is { } endLatent)
        {
            return (RequireLatentSize(lease, startLatent, "start_latent"), RequireLatentSize(lease, endLatent, "end_latent"), 0);
        }
        var response = await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { request.Start, request.End }, Seed = 0, BundleVersion = lease.Info.Version },
            cancellationToken: cancellationToken);
        return response.Codes.Count == 2
            ? (response.Codes[0].Mu.ToArray(), response.Codes[1].Mu.ToArray(), response.Codes.Sum(c => c.Tokens))
            : throw new MeshException(MeshErrorKind.Internal, "the encoder did not return two codes for the path's ends");
    }

    /// <summary>Padding, BOS and UNK are never sampled; nor is EOS when the request ignores it.</summary>
    private static TokenSampler CreateSampler(VaeConfig config, GenerationRequest request)
    {
        var banned = new List<int> { config.PadId, config.BosId, config.UnkId };
        if (request.IgnoreEos)
        {
            banned.Add(config.EosId);
        }
        return new TokenSampler(request.Sampling, banned);
    }

    /// <summary>Decodes, samples and detokenizes token by token, a chunk per token, until EOS, a stop string or max_tokens.</summary>
    private static async Task DecodeAsync(GeneratorModel model, DecodeSequence decoding, TokenSampler sampler, SplitMixRandom random,
        IStreamingDetokenizer detokenizer, StopSequenceMatcher stops, ChannelWriter<GenerateResponse> output, Progress progress, CancellationToken cancellationToken)
    {
        var token = model.Config.BosId;
        while (progress.Generated.Count < progress.Request.MaxTokens)
        {
            var logits = await decoding.StepAsync(token, cancellationToken);
            token = sampler.Sample(logits, progress.Generated, random);
            if (token == model.Config.EosId)
            {
                progress.FinishReason = "eos";
                return;
            }
            progress.Generated.Add(token);
            var emitted = stops.Push(await detokenizer.AppendAsync(token, cancellationToken));
            progress.Text.Append(emitted);
            await output.WriteAsync(new GenerateResponse { Chunk = new GenerateChunk { Text = emitted, TokenIds = { token } } }, cancellationToken);
            progress.FirstToken ??= progress.Elapsed;
            if (stops.Matched is not null)
            {
                progress.FinishReason = "stop";
                return;
            }
        }
    }

    /// <summary>What the detokenizer and the stop matcher still hold, as a last chunk.</summary>
    private static async Task FlushAsync(IStreamingDetokenizer detokenizer, StopSequenceMatcher stops, ChannelWriter<GenerateResponse> output,
        Progress progress, CancellationToken cancellationToken)
    {
        var tail = stops.Push(await detokenizer.FlushAsync(cancellationToken));
        tail += stops.Matched is null ? stops.Flush() : "";
        if (stops.Matched is not null)
        {
            progress.FinishReason = "stop";
        }
        if (tail.Length > 0)
        {
            progress.Text.Append(tail);
            await output.WriteAsync(new GenerateResponse { Chunk = new GenerateChunk { Text = tail } }, cancellationToken);
        }
    }

    /// <summary>One generation's state, from which its final message is built.</summary>
    private sealed class Progress(string bundleVersion, string instance, GenerationRequest request, long started)
    {
        public GenerationRequest Request => request;
        public List<int> Generated { get; } = new(request.MaxTokens);
        public StringBuilder Text { get; } = new();
        public string FinishReason { get; set; } = "length";
        public TimeSpan? FirstToken { get; set; }
        public int PromptTokens { get; set; }
        public string LatentSource { get; set; } = "";
        public TimeSpan PromptTime { get; set; }
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(started);

        public GenerateResponse Final(string? stop = null)
        {
            var total = Elapsed;
            var completionTokens = Generated.Count;
            return new GenerateResponse
            {
                Final = new GenerateFinal
                {
                    FinishReason = FinishReason,
                    Seed = request.Seed,
                    BundleVersion = bundleVersion,
                    Instance = instance,
                    StopSequence = stop ?? "",
                    Text = Text.ToString(),
                    LatentSource = LatentSource,
                    Usage = new Usage { PromptTokens = PromptTokens, CompletionTokens = completionTokens, TotalTokens = PromptTokens + completionTokens },
                    Timings = new Timings
                    {
                        TimeToFirstTokenMs = (FirstToken ?? total).TotalMilliseconds,
                        TotalMs = total.TotalMilliseconds,
                        TokensPerSecond = completionTokens > 1 && FirstToken is { } first && total > first
                            ? (completionTokens - 1) / (total - first).TotalSeconds
                            : 0,
                        PromptMs = PromptTime.TotalMilliseconds,
                    },
                },
            };
        }
    }

    private static (float[] Z, int Tokens, string Source) SampleLatent(
        ModelLease<GeneratorModel> lease, LatentSource source, double latentTemperature, SplitMixRandom random)
    {
        var model = lease.Model;
        var useGenerator = source switch
        {
            LatentSource.Prior => false,
            LatentSource.Generator when !model.HasLatentGenerator => throw new MeshException(MeshErrorKind.FailedPrecondition,
                $"latent_source: bundle {lease.Info.Version} has no latent generator (train the adversarial phase or use the prior)"),
            LatentSource.Generator => true,
            _ => model.HasLatentGenerator,
        };
        return useGenerator
            ? (model.GenerateLatent(random, latentTemperature), 0, "generator")
            : (LatentSampler.Prior(model.Config.LatentSize, random, latentTemperature), 0, "prior");
    }

    private async Task<(float[] Z, int Tokens, string Source)> EncodePromptAsync(
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
            : throw new MeshException(MeshErrorKind.Internal, "the encoder returned no code for the prompt");
        return (LatentSampler.Vary(code.Mu.ToArray(), code.Z.ToArray(), request.Variation), code.Tokens, "prompt");
    }

    private IStreamingDetokenizer CreateDetokenizer(GeneratorModel model) =>
        options.Value.Detokenization == DetokenizationMode.Local && model.Vocabulary is { } vocabulary
            ? new LocalDetokenizer(vocabulary)
            : new TokenizerDetokenizer(tokenizer, model.Bundle.Manifest.TokenizerVersion);
}
