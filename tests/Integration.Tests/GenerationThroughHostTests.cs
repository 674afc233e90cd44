using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class GenerationThroughHostTests(MeshFixture mesh)
{
    private readonly Generator.GeneratorClient _generator = new(mesh.Channel("generator"));
    private readonly Encoder.EncoderClient _encoder = new(mesh.Channel("encoder"));

    [Fact]
    public async Task Both_serving_services_load_a_newly_published_bundle()
    {
        var version = await mesh.TrainTinyModelAsync(seed: 7, CancellationToken.None);

        await WaitForAsync(async () => (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion == version);
        await WaitForAsync(async () => (await _encoder.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion == version);
        var info = await _generator.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal("sentence-vae", info.Kind);
        Assert.Equal("onnx", info.Backend);
        Assert.Equal(8, info.LatentSize);
        Assert.Matches("^[0-9a-f]{16}$", info.VocabularyVersion);
    }

    [Fact]
    public async Task A_request_without_sampling_settings_samples_with_the_models_recommendation()
    {
        var info = await _generator.GetModelInfoAsync(new GetModelInfoRequest());
        var recorded = JsonNode.Parse(info.HyperparametersJson)?["sampling"];
        var defaults = info.SamplingDefaults;
        Assert.NotNull(defaults);
        if (recorded is not null)
        {
            Assert.Equal(recorded["temperature"]!.GetValue<double>(), defaults.Temperature);
            Assert.Equal(recorded["topP"]!.GetValue<double>(), defaults.TopP);
            Assert.Equal(recorded["minP"]!.GetValue<double>(), defaults.MinP);
            Assert.Equal(recorded["bestOf"]?.GetValue<int>() ?? 1, defaults.BestOf);
            Assert.Equal(recorded["lmWeight"]?.GetValue<double>() ?? 0, defaults.LmWeight);
        }
        Assert.InRange(defaults.Temperature, 0.5, 1.5);

        var unset = await CollectAsync(new GenerateRequest { Seed = 31, MaxTokens = 24 });
        var explicitly = await CollectAsync(new GenerateRequest
        {
            Seed = 31, MaxTokens = 24, Temperature = defaults.Temperature, TopP = defaults.TopP, MinP = defaults.MinP, LmWeight = defaults.LmWeight,
        });
        Assert.Equal(explicitly.BundleVersion, unset.BundleVersion);
        Assert.Equal(explicitly.Text, unset.Text);
    }

    [Fact]
    public async Task Chunks_stream_as_tokens_are_decoded_and_the_first_arrives_long_before_the_final()
    {
        const int maxTokens = 1000;
        // The first call on a channel pays for its connection and the client's JIT: not what is measured here.
        await CollectAsync(new GenerateRequest { MaxTokens = 1 });
        var clock = Stopwatch.StartNew();
        using var call = _generator.Generate(new GenerateRequest { MaxTokens = maxTokens, IgnoreEos = true, Seed = 4 });
        var chunkTimes = new List<double>();
        var tokens = 0;
        GenerateFinal? final = null;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Chunk is not null)
            {
                chunkTimes.Add(clock.Elapsed.TotalMilliseconds);
                tokens += response.Chunk.TokenIds.Count;
            }
            else
            {
                final = response.Final;
            }
        }
        var finalTime = clock.Elapsed.TotalMilliseconds;

        Assert.NotNull(final);
        Assert.Equal(maxTokens, final.Usage.CompletionTokens);
        // Every token arrives in a chunk; chunks that waited behind a slow transport merge.
        Assert.Equal(maxTokens, tokens);
        Assert.InRange(chunkTimes.Count, 2, maxTokens);
        Assert.True(chunkTimes[0] < finalTime / 2, $"first chunk at {chunkTimes[0]:F0} ms, final at {finalTime:F0} ms");
        Assert.True(final.Timings.TimeToFirstTokenMs < final.Timings.TotalMs / 2);
    }

    [Fact]
    public async Task The_same_request_and_seed_give_the_same_text_with_and_without_a_prompt()
    {
        foreach (var prompt in new[] { "", "a man riding a horse on a beach" })
        {
            var request = new GenerateRequest { Prompt = prompt, Seed = 99, MaxTokens = 24, Temperature = 0.8, TopK = 50 };
            var first = await CollectAsync(request);
            var second = await CollectAsync(request);
            Assert.Equal(first.Text, second.Text);
            Assert.Equal(99ul, first.Seed);
            Assert.Equal(prompt.Length > 0, first.Usage.PromptTokens > 0);
        }
        var unseeded = await CollectAsync(new GenerateRequest { MaxTokens = 8 });
        Assert.NotEqual(0ul, unseeded.Seed);
    }

    [Fact]
    public async Task A_client_cancel_stops_the_server_decoding()
    {
        using var cancel = new CancellationTokenSource();
        using var trace = GenerationSpan.StartTrace(nameof(A_client_cancel_stops_the_server_decoding));
        // Long enough to still run when the client cancels, however fast the model decodes.
        using var call = _generator.Generate(new GenerateRequest { MaxTokens = MeshFixture.LongStreamTokens, IgnoreEos = true, Seed = 8 }, cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(1, (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).ActiveRequests);

        await cancel.CancelAsync();

        await WaitForAsync(async () => (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).ActiveRequests == 0, TimeSpan.FromSeconds(2));
        var span = await GenerationSpan.FindAsync(mesh, trace.TraceId, TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", span.FinishReason);
        Assert.InRange(span.OutputTokens, 1, MeshFixture.LongStreamTokens / 2);
    }

    [Fact]
    public async Task A_stream_running_during_a_reload_finishes_on_the_model_it_started_with()
    {
        var before = (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion;
        using var call = _generator.Generate(new GenerateRequest { MaxTokens = 256, IgnoreEos = true, Seed = 5 });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        // Not reading holds the stream open (backpressure) while a new model is published and loaded.
        var after = await mesh.TrainTinyModelAsync(seed: 11, CancellationToken.None);
        await WaitForAsync(async () => (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion == after);

        GenerateFinal? final = null;
        // Chunks that waited behind the paused reader may have merged: count tokens, not chunks.
        var tokens = call.ResponseStream.Current.Chunk.TokenIds.Count;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            if (call.ResponseStream.Current.Final is { } f)
            {
                final = f;
            }
            else
            {
                tokens += call.ResponseStream.Current.Chunk.TokenIds.Count;
            }
        }
        Assert.NotNull(final);
        Assert.Equal(before, final.BundleVersion);
        Assert.Equal(256, tokens);
        Assert.Equal(after, (await CollectAsync(new GenerateRequest { MaxTokens = 4 })).BundleVersion);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { "temperature=-1", "temperature" },
        { "temperature=NaN", "temperature" },
        { "temperature=Infinity", "temperature" },
        { "top_p=0", "top_p" },
        { "top_p=1.5", "top_p" },
        { "top_k=-3", "top_k" },
        { "min_p=-0.1", "min_p" },
        { "min_p=NaN", "min_p" },
        { "repetition_penalty=0", "repetition_penalty" },
        { "repetition_penalty=-2", "repetition_penalty" },
        { "max_tokens=0", "max_tokens" },
        { "max_tokens=-5", "max_tokens" },
        { "max_tokens=100000", "max_tokens" },
        { "variation=-1", "variation" },
        { "variation=NaN", "variation" },
        { "stop=5", "stop" },
        { "stop=empty", "stop[0]" },
        { "prompt=huge", "prompt" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_generation_requests_are_invalid_arguments_naming_the_field(string change, string field)
    {
        var request = new GenerateRequest();
        var (name, value) = (change.Split('=')[0], change.Split('=')[1]);
        switch (name)
        {
            case "temperature": request.Temperature = double.Parse(value); break;
            case "top_p": request.TopP = double.Parse(value); break;
            case "top_k": request.TopK = int.Parse(value); break;
            case "min_p": request.MinP = double.Parse(value); break;
            case "repetition_penalty": request.RepetitionPenalty = double.Parse(value); break;
            case "max_tokens": request.MaxTokens = int.Parse(value); break;
            case "variation": request.Variation = double.Parse(value); break;
            case "stop" when value == "empty": request.Stop.Add(""); break;
            case "stop": request.Stop.AddRange(Enumerable.Range(0, 5).Select(i => $"s{i}")); break;
            case "prompt": request.Prompt = new string('w', 5000); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => CollectAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field, error.Status.Detail);
    }

    [Fact]
    public async Task A_bundle_whose_vocabulary_the_tokenizer_lacks_is_refused_and_the_current_model_stays()
    {
        var current = (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion;
        var bundles = Path.Combine(mesh.DataDirectory, "models", "bundles");
        var foreign = "20991231T235959Z-foreignvocab";
        CopyDirectory(Path.Combine(bundles, current), Path.Combine(bundles, foreign));
        var manifestPath = Path.Combine(bundles, foreign, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["version"] = foreign;
        manifest["tokenizerVersion"] = "00000000deadbeef";
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        try
        {
            foreach (var load in new Func<Task<ModelInfo>>[]
            {
                () => _generator.LoadModelAsync(new LoadModelRequest { BundleVersion = foreign }).ResponseAsync,
                () => _encoder.LoadModelAsync(new LoadModelRequest { BundleVersion = foreign }).ResponseAsync,
            })
            {
                var error = await Assert.ThrowsAsync<RpcException>(load);
                Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
                Assert.Contains("00000000deadbeef", error.Status.Detail);
            }
            Assert.Equal(current, (await _generator.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion);
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() =>
                _generator.LoadModelAsync(new LoadModelRequest { BundleVersion = "20990101T000000Z-nothere" }).ResponseAsync)).StatusCode);
        }
        finally
        {
            Directory.Delete(Path.Combine(bundles, foreign), recursive: true);
        }
    }

    [Fact]
    public async Task The_encoder_returns_seeded_codes_and_refuses_bad_input()
    {
        var request = new EncodeTextsRequest { Texts = { "a cat on a couch", "two dogs playing in the snow" }, Seed = 3 };
        var first = await _encoder.EncodeAsync(request);
        var second = await _encoder.EncodeAsync(request);

        Assert.Equal(2, first.Codes.Count);
        Assert.All(first.Codes, c => Assert.True(c.Mu.Count == 8 && c.Logvar.Count == 8 && c.Z.Count == 8 && c.Tokens > 0));
        Assert.Equal(first.Codes[1].Z, second.Codes[1].Z);
        Assert.NotEqual(first.Codes[0].Mu, first.Codes[1].Mu);

        using var stream = _encoder.EncodeStream();
        await stream.RequestStream.WriteAsync(new EncodeTextsRequest { Texts = { "a red bus" }, Seed = 1 });
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Single(stream.ResponseStream.Current.Codes);
        await stream.RequestStream.CompleteAsync();

        foreach (var (bad, field) in new (EncodeTextsRequest, string)[]
        {
            (new EncodeTextsRequest(), "texts"),
            (new EncodeTextsRequest { Texts = { "ok", "" } }, "texts[1]"),
            (new EncodeTextsRequest { Texts = { Enumerable.Repeat("a", 300) } }, "texts"),
            (new EncodeTextsRequest { Texts = { new string('x', 5000) } }, "texts[0]"),
        })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => _encoder.EncodeAsync(bad).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.StartsWith(field, error.Status.Detail);
        }
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() =>
            _encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a" }, BundleVersion = "20990101T000000Z-nothere" }).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task Nearest_finds_a_training_sentence_itself_first_and_refuses_a_bundle_without_an_index()
    {
        var current = (await _encoder.GetModelInfoAsync(new GetModelInfoRequest())).BundleVersion;
        var bundles = Path.Combine(mesh.DataDirectory, "models", "bundles");
        var training = File.ReadAllLines(Path.Combine(bundles, current, "split-train.txt"));
        var text = training[training.Length / 2];

        var byText = await _encoder.NearestAsync(new NearestRequest { Text = text, K = 7 });

        Assert.Equal(current, byText.BundleVersion);
        Assert.Equal(training.Distinct().Count(), byText.Indexed);
        Assert.Equal(7, byText.Neighbors.Count);
        Assert.Equal(text, byText.Neighbors[0].Text);
        Assert.Equal(Array.IndexOf(training, text), byText.Neighbors[0].Line);
        Assert.InRange(byText.Neighbors[0].Distance, 0, 1e-3f);
        Assert.Equal(byText.Neighbors.Select(n => n.Distance).Order(), byText.Neighbors.Select(n => n.Distance));
        Assert.All(byText.Neighbors, n => Assert.Equal(training[n.Line], n.Text));
        Assert.Equal(7, byText.Neighbors.Select(n => n.Text).Distinct().Count());

        // The same search from the code itself; k defaults to 5.
        var byCode = await _encoder.NearestAsync(new NearestRequest { Latent = new LatentVector { Values = { byText.QueryLatent } } });
        Assert.Equal(byText.Neighbors.Take(5).Select(n => n.Line), byCode.Neighbors.Select(n => n.Line));

        var old = "20000101T000000Z-noindex00000"; // older than every bundle: never the one the services follow
        CopyDirectory(Path.Combine(bundles, current), Path.Combine(bundles, old));
        var manifestPath = Path.Combine(bundles, old, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["version"] = old;
        manifest["files"]!.AsObject().Remove("latent-index.bin");
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        File.Delete(Path.Combine(bundles, old, "latent-index.bin"));
        try
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                _encoder.NearestAsync(new NearestRequest { Text = text, BundleVersion = old }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
            Assert.Contains("latent-index.bin", error.Status.Detail);
        }
        finally
        {
            Directory.Delete(Path.Combine(bundles, old), recursive: true);
        }
    }

    [Fact]
    public void While_no_model_existed_the_dashboard_said_what_the_serving_services_waited_for()
    {
        foreach (var service in new[] { "encoder", "generator", "discriminator" })
        {
            Assert.Contains(mesh.HealthReports, r => r.Resource == service && r.Description.StartsWith("Unhealthy: model: waiting for the first model", StringComparison.Ordinal));
        }
        // The discriminator serves adversarial bundles only: until one exists it says which run the trainer is on
        // (the first, plain VAE, run, or a later adversarial one: tests may start one at once).
        var discriminator = mesh.HealthReports.Where(r => r.Resource == "discriminator").Select(r => r.Description).ToArray();
        Assert.True(discriminator.Any(d => Regex.IsMatch(d, @"waiting for the first model: run [0-9a-f]{12} (in phase (tokenize|vae|adversarial|evaluation|publish)|published \S+) \(")),
            string.Join("\n", discriminator));
    }

    private async Task<GenerateFinal> CollectAsync(GenerateRequest request)
    {
        using var call = _generator.Generate(request, deadline: DateTime.UtcNow.AddSeconds(60));
        GenerateFinal? final = null;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            final = response.Final ?? final;
        }
        return final ?? throw new InvalidOperationException("no final message");
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the condition");
            await Task.Delay(100);
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }
}
