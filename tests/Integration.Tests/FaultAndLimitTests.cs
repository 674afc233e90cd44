using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using LlmMesh.Contracts.Events;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// The mesh of the fault and limit tests: a host of its own, since these tests kill, stop and
/// saturate its resources. Its generator decodes 2 streams at once and lets 1 more wait, and its
/// services require an API key (as a deployment exposed beyond the host would).
/// </summary>
public sealed class FaultHostFixture : MeshFixture
{
    public override string? ApiKey { get; } = $"sk-mesh-{Guid.NewGuid():N}";

    public const int MaxBatchSize = 2;
    public const int MaxQueuedRequests = 1;

    protected override void Configure(IDistributedApplicationTestingBuilder builder) =>
        builder.CreateResourceBuilder<ProjectResource>("generator")
            .WithEnvironment("Generator__Batching__MaxBatchSize", MaxBatchSize.ToString())
            .WithEnvironment("Generator__Batching__MaxQueuedRequests", MaxQueuedRequests.ToString());
}

/// <summary>
/// Processes killed, services and the broker stopped under load, limits reached, against the
/// real host: clients get precise statuses at once, services recover by themselves, nothing is lost.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class FaultAndLimitTests(FaultHostFixture host) : IClassFixture<FaultHostFixture>
{
    [Fact]
    public async Task With_an_api_key_required_calls_without_it_are_refused_and_the_services_call_each_other_with_it()
    {
        using var bare = GrpcChannel.ForAddress(host.App.GetEndpoint("generator", "grpc"));
        var refused = await Assert.ThrowsAsync<RpcException>(() => new Generator.GeneratorClient(bare).GetModelInfoAsync(new GetModelInfoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        using var gateway = new HttpClient { BaseAddress = host.App.GetEndpoint("gateway", "http") };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await gateway.GetAsync("/v1/models")).StatusCode);
        Assert.True((await gateway.GetAsync("/health")).IsSuccessStatusCode);

        // The gateway calls the generator, which calls the encoder, which calls the tokenizer: each with the key.
        gateway.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", host.ApiKey);
        var completion = await gateway.PostAsync("/v1/completions", new StringContent(
            """{"model":"llmmesh","prompt":"a dog on a beach","max_tokens":8,"seed":5}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(completion.IsSuccessStatusCode, await completion.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Streams_past_the_generators_capacity_are_refused_at_once_and_a_waiting_one_starts_when_a_place_frees()
    {
        var generator = new Generator.GeneratorClient(host.Channel("generator"));
        var accepted = new List<(AsyncServerStreamingCall<GenerateResponse> Call, Task<bool> First)>();
        try
        {
            RpcException? refused = null;
            for (var attempt = 0; attempt < 6 && refused is null; attempt++)
            {
                var call = generator.Generate(new GenerateRequest { MaxTokens = MeshFixture.LongStreamTokens, IgnoreEos = true, Seed = (ulong)attempt + 1 },
                    deadline: DateTime.UtcNow.AddMinutes(2));
                var first = call.ResponseStream.MoveNext();
                // A stream that neither answers nor fails within a second is waiting for a place.
                if (await Task.WhenAny(first, Task.Delay(1000)) == first && first.IsFaulted)
                {
                    refused = Assert.IsType<RpcException>(first.Exception!.InnerException);
                    call.Dispose();
                }
                else
                {
                    accepted.Add((call, first));
                }
            }

            Assert.NotNull(refused);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("at capacity", refused.Status.Detail);
            Assert.Equal(FaultHostFixture.MaxBatchSize + FaultHostFixture.MaxQueuedRequests, accepted.Count);
            Assert.False(accepted[^1].First.IsCompleted, "the last accepted stream should be waiting for a place");
            accepted[0].Call.Dispose();
            Assert.True(await accepted[^1].First.WaitAsync(TimeSpan.FromSeconds(10)), "the waiting stream did not start when a place freed");
        }
        finally
        {
            accepted.ForEach(c => c.Call.Dispose());
        }
    }

    [Fact]
    public async Task A_deadline_ends_a_long_stream_on_time_and_the_generator_stops_its_work()
    {
        var generator = new Generator.GeneratorClient(host.Channel("generator"));
        var clock = Stopwatch.StartNew();
        using var call = generator.Generate(new GenerateRequest { MaxTokens = MeshFixture.LongStreamTokens, IgnoreEos = true, Seed = 2 },
            deadline: DateTime.UtcNow.AddSeconds(1.5));

        var expired = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
            }
        });

        Assert.Equal(StatusCode.DeadlineExceeded, expired.StatusCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(4));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await generator.GetModelInfoAsync(new GetModelInfoRequest())).ActiveRequests > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the generator kept decoding after the deadline");
            await Task.Delay(100);
        }
    }

    // Bounds a hang, not a speed: on a loaded 2-core machine a 200-step run with its restart took over 2 minutes.
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_generator_killed_mid_stream_fails_the_stream_with_unavailable_at_once_and_serves_again_after_a_restart()
    {
        var generator = new Generator.GeneratorClient(host.Channel("generator"));
        using var call = generator.Generate(new GenerateRequest { MaxTokens = MeshFixture.LongStreamTokens, IgnoreEos = true, Seed = 3 },
            deadline: DateTime.UtcNow.AddMinutes(2));
        Assert.True(await call.ResponseStream.MoveNext());

        var sinceKill = Stopwatch.StartNew();
        host.ServiceProcess("LlmMesh.Generator").Kill();
        var failure = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
            }
        });

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(5), $"the stream failed {sinceKill.Elapsed} after the kill");
        await RestartAfterExitAsync("generator");
        var text = "";
        using var retry = generator.Generate(new GenerateRequest { MaxTokens = 16, Seed = 3 }, deadline: DateTime.UtcNow.AddSeconds(30));
        GenerateFinal? final = null;
        await foreach (var response in retry.ResponseStream.ReadAllAsync())
        {
            text += response.Chunk?.Text;
            final = response.Final ?? final;
        }
        Assert.NotNull(final);
        Assert.NotEqual("", text.Trim());
    }

    [Fact]
    public async Task With_the_tokenizer_down_its_dependents_are_not_ready_and_fail_with_a_clear_unavailable_then_recover_by_themselves()
    {
        var encoder = new Encoder.EncoderClient(host.Channel("encoder"));
        var generator = new Generator.GeneratorClient(host.Channel("generator"));
        using var http = new HttpClient();
        var encoderHealth = new Uri(host.App.GetEndpoint("encoder", "http"), "/health");
        var generatorHealth = new Uri(host.App.GetEndpoint("generator", "http"), "/health");
        await ExecuteAsync("tokenizer", "resource-stop");
        try
        {
            await host.App.ResourceNotifications.WaitForResourceAsync("tokenizer", [KnownResourceStates.Exited, KnownResourceStates.Finished],
                new CancellationTokenSource(RecoveryTimeout).Token);

            var notReady = await http.GetAsync(encoderHealth);
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            var grpcHealth = await new Health.HealthClient(host.Channel("encoder")).CheckAsync(new HealthCheckRequest());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, grpcHealth.Status);
            // The generator still serves what needs no tokenizer (no prompt), and says what it lacks.
            Assert.StartsWith("Degraded: tokenizer: ", await http.GetStringAsync(generatorHealth));

            var encode = await Assert.ThrowsAsync<RpcException>(() =>
                encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog on a beach" } }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, encode.StatusCode);
            Assert.StartsWith("the tokenizer is unavailable", encode.Status.Detail);
            var prompted = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = generator.Generate(new GenerateRequest { Prompt = "a dog on a beach", MaxTokens = 8 }, deadline: DateTime.UtcNow.AddSeconds(30));
                await call.ResponseStream.MoveNext();
            });
            Assert.Equal(StatusCode.Unavailable, prompted.StatusCode);
            Assert.Contains("the tokenizer is unavailable", prompted.Status.Detail);
            using var unconditioned = generator.Generate(new GenerateRequest { MaxTokens = 8, Seed = 1 }, deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.True(await unconditioned.ResponseStream.MoveNext());
        }
        finally
        {
            await ExecuteAsync("tokenizer", "resource-start");
        }

        // No restart of the dependents: they notice by themselves.
        await host.App.ResourceNotifications.WaitForResourceHealthyAsync("encoder", new CancellationTokenSource(RecoveryTimeout).Token);
        var recovery = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await http.GetStringAsync(generatorHealth) != "Healthy")
        {
            Assert.True(DateTime.UtcNow < recovery, "the generator still reports the tokenizer down 30 s after it came back");
            await Task.Delay(250);
        }
        var encoded = await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog on a beach" } }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Single(encoded.Codes);
    }

    [Fact]
    public async Task A_trainer_killed_mid_run_resumes_after_a_restart_ends_as_the_uninterrupted_run_and_publishes_every_event_once()
    {
        await using var recorder = await TrainingEventRecorder.StartAsync(host.App);
        var trainer = new Trainer.TrainerClient(host.Channel("trainer"));
        var request = CheckpointedRun(seed: 5);
        var straight = await FinalAsync(trainer.StartRun(request, deadline: DateTime.UtcNow + RecoveryTimeout));
        RunOutcome.AssertCompleted(straight);

        string? runId = null;
        long killedAt = 0;
        using (var interrupted = trainer.StartRun(request, deadline: DateTime.UtcNow + RecoveryTimeout))
        {
            await foreach (var progress in interrupted.ResponseStream.ReadAllAsync())
            {
                Assert.Null(progress.Final);
                if (progress.Update is { Phase: "vae", Step: >= 110 } update)
                {
                    (runId, killedAt) = (update.RunId, update.Step);
                    host.ServiceProcess("LlmMesh.Trainer").Kill();
                    break;
                }
            }
        }
        Assert.NotNull(runId);
        await RestartAfterExitAsync("trainer");
        var resumed = await FinalAsync(trainer.WatchRun(new WatchRunRequest { RunId = runId }, deadline: DateTime.UtcNow + RecoveryTimeout));

        RunOutcome.AssertCompleted(resumed);
        var differences = ModelMetrics.Differences(straight, resumed);
        Assert.True(differences.Count == 0, $"the run killed after step {killedAt} and resumed measures differently: {string.Join("; ", differences)}");
        var straightEvents = await recorder.CompletedRunAsync(straight.RunId, TimeSpan.FromSeconds(30));
        var resumedEvents = await recorder.CompletedRunAsync(runId, TimeSpan.FromSeconds(30));
        // At least once, never lost: the event the broker took just before the kill (before the
        // outbox recorded it) may come again, with the same message id, which consumers drop.
        var copies = resumedEvents.GroupBy(e => e.MessageId).ToArray();
        Assert.All(copies, c => Assert.Single(TrainingEventRecorder.Identities(c).Distinct()));
        Assert.InRange(resumedEvents.Count - copies.Length, 0, 1);
        var delivered = copies.Select(c => c.First()).ToArray();
        var (expected, actual) = (TrainingEventRecorder.Identities(straightEvents), TrainingEventRecorder.Identities(delivered));
        Assert.True(expected.SequenceEqual(actual),
            $"missing: {string.Join(", ", expected.Except(actual))}; extra: {string.Join(", ", actual.Except(expected))}");
        Assert.Equal(resumed.BundleVersion, Assert.Single(resumedEvents.Select(e => e.Event).OfType<ModelPublished>()).BundleVersion);
    }

    [Fact]
    public async Task Training_goes_on_while_the_broker_is_down_and_every_event_is_delivered_once_it_is_back()
    {
        await using var recorder = await TrainingEventRecorder.StartAsync(host.App, durable: true);
        var trainer = new Trainer.TrainerClient(host.Channel("trainer"));
        var request = CheckpointedRun(seed: 7);
        using var call = trainer.StartRun(request, deadline: DateTime.UtcNow + RecoveryTimeout);
        Assert.True(await call.ResponseStream.MoveNext());
        var runId = call.ResponseStream.Current.Update.RunId;

        await ExecuteAsync("messaging", "resource-stop");
        RunInfo final;
        try
        {
            final = await FinalAsync(call);
            RunOutcome.AssertCompleted(final);
            Assert.True(host.App.ResourceNotifications.TryGetCurrentState("messaging", out var broker)
                && broker.Snapshot.State?.Text != KnownResourceStates.Running, "the broker came back before the run ended");
            Assert.DoesNotContain(recorder.For(runId), e => e.Event is RunCompleted);
        }
        finally
        {
            await ExecuteAsync("messaging", "resource-start");
        }

        await host.App.ResourceNotifications.WaitForResourceHealthyAsync("messaging", new CancellationTokenSource(RecoveryTimeout).Token);
        var events = await recorder.CompletedRunAsync(runId, TimeSpan.FromSeconds(90));
        Assert.Equal(events.Count, events.Select(e => e.MessageId).Distinct().Count());
        var facts = events.Select(e => e.Event).ToArray();
        Assert.Single(facts.OfType<RunStarted>());
        Assert.Equal(final.BundleVersion, Assert.Single(facts.OfType<ModelPublished>()).BundleVersion);
        var epochs = facts.OfType<EpochCompleted>().ToArray();
        Assert.Equal(Enumerable.Range(0, epochs.Length), epochs.Select(e => e.Epoch).Order());
        Assert.True(epochs.Length >= final.Step / 100, $"{epochs.Length} epochs for {final.Step} steps");
        // A checkpoint every CheckpointEverySteps, at every epoch's end and at the last step.
        var checkpoints = facts.OfType<CheckpointSaved>().Select(c => c.Step).ToHashSet();
        var expected = Enumerable.Range(1, (int)(final.Step / 50)).Select(i => i * 50L).Concat(epochs.Select(e => e.Step)).Append(final.Step).ToHashSet();
        Assert.Equal(expected.Order(), checkpoints.Order());
    }

    /// <summary>A tiny run of three epochs and more that checkpoints every 50 steps: long enough to interrupt (about 5 steps a second).</summary>
    private static StartRunRequest CheckpointedRun(ulong seed) => new()
    {
        Corpus = "coco",
        Steps = 200,
        BatchSize = 128,
        Seed = seed,
        Hyperparameters = new Hyperparameters
        {
            EmbeddingSize = 32, HiddenSize = 48, LatentSize = 8, CheckpointEverySteps = 50, AdversarialSteps = 0, EvaluationSamples = 100,
        },
    };

    private static async Task<RunInfo> FinalAsync(AsyncServerStreamingCall<RunProgress> call)
    {
        using (call)
        {
            await foreach (var progress in call.ResponseStream.ReadAllAsync())
            {
                if (progress.Final is { } final)
                {
                    return final;
                }
            }
        }
        throw new InvalidOperationException("the run's stream ended without a final message");
    }

    private async Task RestartAfterExitAsync(string resource)
    {
        using var timeout = new CancellationTokenSource(RecoveryTimeout);
        await host.App.ResourceNotifications.WaitForResourceAsync(resource,
            [KnownResourceStates.Exited, KnownResourceStates.Finished, KnownResourceStates.FailedToStart], timeout.Token);
        await ExecuteAsync(resource, "resource-start");
        await host.App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
    }

    private async Task ExecuteAsync(string resource, string command)
    {
        var result = await host.App.ResourceCommands.ExecuteCommandAsync(resource, command, new CancellationTokenSource(RecoveryTimeout).Token);
        Assert.True(result.Success, $"{command} on {resource}: {result.Message}");
    }
}
