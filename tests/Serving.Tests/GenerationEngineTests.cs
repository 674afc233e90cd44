using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using System.Threading.Channels;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Options;

namespace LlmMesh.Serving.Tests;

public sealed class TinyBundleFixture : IDisposable
{
    public TinyBundle Bundle { get; } = new();

    public void Dispose() => Bundle.Dispose();
}

/// <summary>Generation from prior samples with local detokenization: no other service is called.</summary>
public sealed class GenerationEngineTests(TinyBundleFixture fixture) : IClassFixture<TinyBundleFixture>, IDisposable
{
    private readonly GrpcChannel _nowhere = GrpcChannel.ForAddress("http://127.0.0.1:9");
    private readonly Lazy<ModelHost<GeneratorModel>> _host = new(() => CreateHost(fixture.Bundle, ModelBackend.Torch));
    private readonly Lazy<ModelHost<GeneratorModel>> _onnxHost = new(() => CreateHost(fixture.Bundle, ModelBackend.Onnx));

    [Fact]
    public async Task Every_token_is_a_chunk_and_the_final_adds_them_up()
    {
        var (chunks, final) = await GenerateAsync(new GenerateRequest { Seed = 3, MaxTokens = 20, IgnoreEos = true });

        Assert.Equal(20, chunks.Count);
        Assert.All(chunks, c => Assert.Single(c.TokenIds));
        Assert.Equal("length", final.FinishReason);
        Assert.Equal(20, final.Usage.CompletionTokens);
        Assert.Equal(0, final.Usage.PromptTokens);
        Assert.Equal(string.Concat(chunks.Select(c => c.Text)), final.Text);
        Assert.Equal(fixture.Bundle.Tokenizer.Decode(chunks.SelectMany(c => c.TokenIds).ToArray()), final.Text);
        Assert.Equal(3ul, final.Seed);
        Assert.Equal(fixture.Bundle.Bundle.Version, final.BundleVersion);
        Assert.Equal("generator-test", final.Instance);
        Assert.True(final.Timings.TimeToFirstTokenMs > 0 && final.Timings.TotalMs >= final.Timings.TimeToFirstTokenMs);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_and_another_seed_another()
    {
        var request = new GenerateRequest { Seed = 11, MaxTokens = 40, Temperature = 0.9, TopP = 0.95 };
        var first = await GenerateAsync(request);
        var second = await GenerateAsync(request);
        var other = await GenerateAsync(new GenerateRequest(request) { Seed = 12 });

        Assert.Equal(first.Final.Text, second.Final.Text);
        Assert.Equal(first.Chunks.SelectMany(c => c.TokenIds), second.Chunks.SelectMany(c => c.TokenIds));
        Assert.NotEqual(first.Final.Text, other.Final.Text);
    }

    [Fact]
    public async Task Concurrent_streams_batched_together_give_what_each_gives_alone()
    {
        var requests = Enumerable.Range(0, 6).Select(i => new GenerateRequest { Seed = (ulong)(100 + i), MaxTokens = 24, Temperature = 0.9 }).ToArray();
        var alone = new List<string>();
        foreach (var request in requests)
        {
            alone.Add((await GenerateAsync(request)).Final.Text);
        }

        var together = await Task.WhenAll(requests.Select(r => Task.Run(() => GenerateAsync(r))));

        Assert.Equal(alone, together.Select(t => t.Final.Text));
    }

    [Fact]
    public async Task The_onnx_backend_generates_what_the_torch_backend_generates()
    {
        foreach (var seed in new ulong[] { 1, 2, 3, 4, 5 })
        {
            var request = new GenerateRequest { Seed = seed, MaxTokens = 24, Temperature = 0.8 };
            var torch = await GenerateAsync(_host.Value, request);
            var onnx = await GenerateAsync(_onnxHost.Value, request);
            Assert.Equal(torch.Chunks.SelectMany(c => c.TokenIds), onnx.Chunks.SelectMany(c => c.TokenIds));
            Assert.Equal(torch.Final.Text, onnx.Final.Text);
        }
        using var lease = _onnxHost.Value.Acquire();
        Assert.Equal(ModelBackend.Onnx, lease.Model.Backend);
    }

    [Fact]
    public async Task The_model_ends_sentences_with_eos()
    {
        var reasons = new List<string>();
        for (ulong seed = 0; seed < 10; seed++)
        {
            reasons.Add((await GenerateAsync(new GenerateRequest { Seed = seed, MaxTokens = 64 })).Final.FinishReason);
        }
        Assert.Contains("eos", reasons);
    }

    [Fact]
    public async Task A_stop_string_ends_generation_before_it_and_is_not_emitted()
    {
        var request = new GenerateRequest { Seed = 5, MaxTokens = 40, IgnoreEos = true };
        var free = (await GenerateAsync(request)).Final.Text;
        var stop = free.Substring(free.Length / 2, 3);
        var expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];

        var (chunks, final) = await GenerateAsync(new GenerateRequest(request) { Stop = { stop, "never-appears" } });

        Assert.Equal("stop", final.FinishReason);
        Assert.Equal(stop, final.StopSequence);
        Assert.Equal(expected, final.Text);
        Assert.Equal(expected, string.Concat(chunks.Select(c => c.Text)));
    }

    [Fact]
    public async Task Decoding_waits_for_a_slow_reader_and_stops_within_a_step_of_a_cancel()
    {
        using var lease = _host.Value.Acquire();
        var output = Channel.CreateBounded<GenerateResponse>(1);
        var writer = new WaitingWriter<GenerateResponse>(output.Writer);
        using var cancel = new CancellationTokenSource();
        var generation = GenerationRequest.From(new GenerateRequest { Seed = 1, MaxTokens = 200, IgnoreEos = true }, Options.Value, RecommendedSampling.Plain);
        var running = CreateEngine().RunAsync(lease, generation, writer, cancel.Token);

        // The event itself: the engine's second chunk finds the buffer full and waits for the reader.
        await writer.Waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(running.IsCompleted);
        Assert.Equal(1, output.Reader.Count);
        Assert.Equal(2, writer.Writes); // not decoding ahead of the reader

        for (var i = 0; i < 3; i++)
        {
            await output.Reader.ReadAsync();
        }
        await cancel.CancelAsync();
        // Cancelled while waiting for the reader, it still ends as a "cancelled" generation (its
        // telemetry recorded), not with an exception.
        Assert.Null(await Record.ExceptionAsync(() => running.WaitAsync(TimeSpan.FromSeconds(5))));
        Assert.True(output.Reader.Count <= 1);
    }

    [Fact]
    public async Task A_generation_stopped_by_the_service_ends_with_a_cancelled_final()
    {
        using var lease = _host.Value.Acquire();
        var output = Channel.CreateUnbounded<GenerateResponse>();
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();

        await CreateEngine().RunAsync(lease, GenerationRequest.From(new GenerateRequest { Seed = 1 }, Options.Value, RecommendedSampling.Plain), output.Writer, stopping.Token);

        var final = Assert.Single(await output.Reader.ReadAllAsync().Take(1).ToListAsync()).Final;
        Assert.Equal("cancelled", final.FinishReason);
        Assert.Equal(0, final.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Without_a_latent_generator_the_prior_is_used_and_asking_for_the_generator_is_refused()
    {
        var (_, auto) = await GenerateAsync(new GenerateRequest { Seed = 4, MaxTokens = 4 });
        var (_, prior) = await GenerateAsync(new GenerateRequest { Seed = 4, MaxTokens = 4, LatentSource = LatentSource.Prior });
        Assert.Equal("prior", auto.LatentSource);
        Assert.Equal(auto.Text, prior.Text);

        var error = await Assert.ThrowsAsync<MeshException>(() => GenerateAsync(new GenerateRequest { MaxTokens = 4, LatentSource = LatentSource.Generator }));
        Assert.Equal(MeshErrorKind.FailedPrecondition, error.Kind);
        Assert.StartsWith("latent_source", error.Message);

        var bestOf = await Assert.ThrowsAsync<MeshException>(() => GenerateAsync(new GenerateRequest { MaxTokens = 4, BestOf = 3 }));
        Assert.Equal(MeshErrorKind.FailedPrecondition, bestOf.Kind);
        Assert.StartsWith("best_of", bestOf.Message);

        // Trained with no code withheld: its decoder read without a code is no language model.
        var mixed = await Assert.ThrowsAsync<MeshException>(() => GenerateAsync(new GenerateRequest { MaxTokens = 4, LmWeight = 0.5 }));
        Assert.Equal(MeshErrorKind.FailedPrecondition, mixed.Kind);
        Assert.StartsWith("lm_weight", mixed.Message);
    }

    [Fact]
    public async Task Local_detokenization_holds_a_character_split_across_tokens()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("🚲");
        await using var detokenizer = new LocalDetokenizer(fixture.Bundle.Tokenizer);
        var deltas = new List<string>();
        foreach (var b in bytes)
        {
            deltas.Add(await detokenizer.AppendAsync(LlmMesh.Tokenization.SpecialTokens.FirstByteId + b, CancellationToken.None));
        }
        Assert.Equal(["", "", "", "🚲"], deltas);
        Assert.Equal("", await detokenizer.FlushAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Generation_metrics_follow_the_genai_conventions()
    {
        var measurements = new System.Collections.Concurrent.ConcurrentBag<(string Instrument, double Value, string? TokenType)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GenerationTelemetry.SourceName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, value, tags, _) => measurements.Add((i.Name, value, null)));
        listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
            measurements.Add((i.Name, value, tags.ToArray().FirstOrDefault(t => t.Key == "gen_ai.token.type").Value as string)));
        listener.Start();

        await GenerateAsync(new GenerateRequest { Seed = 2, MaxTokens = 8, IgnoreEos = true });

        var names = measurements.Select(m => m.Instrument).ToHashSet();
        Assert.Contains("gen_ai.server.time_to_first_token", names);
        Assert.Contains("gen_ai.server.time_per_output_token", names);
        Assert.Contains("gen_ai.server.request.duration", names);
        Assert.Contains(measurements, m => m.Instrument == "gen_ai.client.token.usage" && m.TokenType == "output" && m.Value == 8);
    }

    private static IOptions<GeneratorOptions> Options { get; } = Microsoft.Extensions.Options.Options.Create(new GeneratorOptions());

    [Fact]
    public async Task A_client_code_is_decoded_as_given_and_a_wrong_size_is_refused_by_name()
    {
        var code = Enumerable.Range(0, 8).Select(i => (float)Math.Sin(i)).ToArray();
        var first = await GenerateAsync(new GenerateRequest { Latent = { code }, Temperature = 0, MaxTokens = 12, Seed = 1 });
        var again = await GenerateAsync(new GenerateRequest { Latent = { code }, Temperature = 0, MaxTokens = 12, Seed = 2 });

        Assert.Equal("latent", first.Final.LatentSource);
        Assert.Equal(first.Final.Text, again.Final.Text); // greedy decoding of one code: the seed plays no part

        var wrongSize = await Assert.ThrowsAsync<ArgumentException>(() => GenerateAsync(new GenerateRequest { Latent = { 1f, 2f } }));
        Assert.Contains("latent has 2 values", wrongSize.Message);
        Assert.Contains("codes of 8", wrongSize.Message);
        var notFinite = Assert.Throws<ArgumentException>(() => GenerationRequest.From(
            new GenerateRequest { Latent = { 0f, float.NaN } }, Options.Value, RecommendedSampling.Plain));
        Assert.Contains("latent[1]", notFinite.Message);
        Assert.Throws<ArgumentException>(() => GenerationRequest.From(new GenerateRequest { Prompt = "a dog", Latent = { 0f } }, Options.Value, RecommendedSampling.Plain));
    }

    [Fact]
    public async Task An_interpolation_streams_every_point_once_with_its_ends_decoded_as_the_ends_are()
    {
        var start = Enumerable.Range(0, 8).Select(i => (float)Math.Sin(i + 1)).ToArray();
        var end = Enumerable.Range(0, 8).Select(i => (float)Math.Cos(3 * i)).ToArray();
        var request = new InterpolateRequest { StartLatent = { start }, EndLatent = { end }, Steps = 7, MaxTokens = 12, Seed = 5 };
        using var lease = _host.Value.Acquire();
        var output = Channel.CreateUnbounded<InterpolateResponse>();

        await CreateEngine().InterpolateAsync(lease, Interpolation.From(request, Options.Value, RecommendedSampling.Plain), output.Writer, CancellationToken.None);
        output.Writer.Complete();
        var responses = await output.Reader.ReadAllAsync().ToListAsync();

        var steps = responses.Where(r => r.Step is not null).Select(r => r.Step).OrderBy(s => s.Index).ToArray();
        Assert.Equal(Enumerable.Range(0, 7), steps.Select(s => s.Index));
        Assert.Equal([0, 1.0 / 6, 2.0 / 6, 0.5, 4.0 / 6, 5.0 / 6, 1], steps.Select(s => s.T), new ToleranceComparer(1e-12));
        Assert.Equal(start, steps[0].Latent);
        Assert.Equal(end, steps[^1].Latent);
        var greedyStart = await GenerateAsync(new GenerateRequest { Latent = { start }, Temperature = 0, MaxTokens = 12 });
        Assert.Equal(greedyStart.Final.Text, steps[0].Text);
        var final = responses[^1].Final;
        Assert.Equal(("slerp", 7, lease.Info.Version, "generator-test"), (final.Method, final.Steps, final.BundleVersion, final.Instance));
        Assert.Equal(0, final.Usage.PromptTokens); // codes given: nothing was encoded

        var wrongSize = new InterpolateRequest { StartLatent = { 1f }, EndLatent = { 2f } };
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => CreateEngine().InterpolateAsync(lease,
            Interpolation.From(wrongSize, Options.Value, RecommendedSampling.Plain), Channel.CreateUnbounded<InterpolateResponse>().Writer, CancellationToken.None));
        Assert.Contains("start_latent has 1 values", refused.Message);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double value) => 0;
    }

    private Task<(List<GenerateChunk> Chunks, GenerateFinal Final)> GenerateAsync(GenerateRequest request) => GenerateAsync(_host.Value, request);

    private async Task<(List<GenerateChunk> Chunks, GenerateFinal Final)> GenerateAsync(ModelHost<GeneratorModel> host, GenerateRequest request)
    {
        using var lease = host.Acquire();
        var output = Channel.CreateUnbounded<GenerateResponse>();
        await CreateEngine().RunAsync(lease, GenerationRequest.From(request, Options.Value, RecommendedSampling.Plain), output.Writer, CancellationToken.None);
        output.Writer.Complete();
        var responses = await output.Reader.ReadAllAsync().ToListAsync();
        return (responses.Where(r => r.Chunk is not null).Select(r => r.Chunk).ToList(), responses.Single(r => r.Final is not null).Final);
    }

    private GenerationEngine CreateEngine() => CreateEngine(_nowhere);

    /// <summary>An engine whose peers (encoder, tokenizer, discriminator) are at an address where nothing listens.</summary>
    internal static GenerationEngine CreateEngine(GrpcChannel nowhere) => new(
        new LlmMesh.Contracts.V1.Encoder.EncoderClient(nowhere),
        new Tokenizer.TokenizerClient(nowhere),
        new LlmMesh.Contracts.V1.Discriminator.DiscriminatorClient(nowhere),
        new GenerationTelemetry(new TestMeterFactory()),
        Options,
        Microsoft.Extensions.Options.Options.Create(new ServingOptions { Instance = "generator-test" }));

    internal static ModelHost<GeneratorModel> CreateHost(TinyBundle bundle, ModelBackend backend)
    {
        var host = new ModelHost<GeneratorModel>(new ModelCatalog(bundle.Store), new TinyGeneratorLoader(bundle) { Backend = backend }, new AnyVocabulary(),
            Microsoft.Extensions.Options.Options.Create(new ServingOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelHost<GeneratorModel>>.Instance);
        host.LoadAsync(null, CancellationToken.None).GetAwaiter().GetResult();
        return host;
    }




    public void Dispose() => _nowhere.Dispose();
}

/// <summary>Passes writes through and signals the first one that has to wait for room.</summary>
internal sealed class WaitingWriter<T>(ChannelWriter<T> inner) : ChannelWriter<T>
{
    private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _writes;

    public Task Waiting => _waiting.Task;

    public int Writes => Volatile.Read(ref _writes);

    public override bool TryWrite(T item)
    {
        Interlocked.Increment(ref _writes);
        return inner.TryWrite(item);
    }

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(cancellationToken);

    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writes);
        if (inner.TryWrite(item))
        {
            return ValueTask.CompletedTask;
        }
        _waiting.TrySetResult();
        return inner.WriteAsync(item, cancellationToken);
    }

    public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
}
