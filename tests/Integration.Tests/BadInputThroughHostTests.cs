using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// Every RPC of the mesh given bad input through the real host: each case gets a precise status
/// and a message that names what is wrong, and every service stays healthy afterwards.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class BadInputThroughHostTests(MeshFixture mesh)
{
    private const int OverMessageLimit = 9 * 1024 * 1024;

    /// <summary>A bad request: the call, the status it must get and a part of the message it must carry.</summary>
    private sealed record Case(Func<Clients, Task> Call, StatusCode Status, string Message);

    private sealed record Clients(
        Tokenizer.TokenizerClient Tokenizer, Encoder.EncoderClient Encoder, Generator.GeneratorClient Generator,
        Discriminator.DiscriminatorClient Discriminator, Trainer.TrainerClient Trainer, Func<string, GrpcChannel> Channel, int LatentSize);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Tokenizer
        ["tokenizer Encode: unknown vocabulary"] = new(c => c.Tokenizer.EncodeAsync(new EncodeRequest { Text = "a", VocabularyVersion = "00000000deadbeef" }).ResponseAsync,
            StatusCode.NotFound, "00000000deadbeef"),
        ["tokenizer Encode: vocabulary version as a path"] = new(c => c.Tokenizer.EncodeAsync(new EncodeRequest { Text = "a", VocabularyVersion = "../../etc" }).ResponseAsync,
            StatusCode.InvalidArgument, "vocabulary_version"),
        ["tokenizer Encode: message over the size limit"] = new(c => c.Tokenizer.EncodeAsync(new EncodeRequest { Text = new string('a', OverMessageLimit) }).ResponseAsync,
            StatusCode.ResourceExhausted, "message"),
        ["tokenizer Encode: invalid UTF-8 on the wire"] = new(c => RawUnaryAsync(c.Channel("tokenizer"), "/llmmesh.v1.Tokenizer/Encode", InvalidUtf8StringField(1)),
            StatusCode.InvalidArgument, "UTF-8"),
        ["tokenizer Decode: negative id"] = new(c => c.Tokenizer.DecodeAsync(new DecodeRequest { Ids = { 5, -1 } }).ResponseAsync,
            StatusCode.InvalidArgument, "-1"),
        ["tokenizer Decode: id past the vocabulary"] = new(c => c.Tokenizer.DecodeAsync(new DecodeRequest { Ids = { 1_000_000_000 } }).ResponseAsync,
            StatusCode.InvalidArgument, "1000000000"),
        ["tokenizer DecodeStream: id past the vocabulary"] = new(c => DuplexAsync(c.Tokenizer.DecodeStream(), new DecodeRequest { Ids = { int.MaxValue } }),
            StatusCode.InvalidArgument, "2147483647"),
        ["tokenizer Train: negative vocabulary size"] = new(c => ClientStreamAsync(c.Tokenizer.Train(), new TrainRequest { Lines = { "a b c" }, VocabularySize = -5 }),
            StatusCode.InvalidArgument, "vocabulary_size"),
        ["tokenizer Train: empty corpus"] = new(c => ClientStreamAsync(c.Tokenizer.Train(), new TrainRequest { VocabularySize = 300 }),
            StatusCode.InvalidArgument, "empty"),
        ["tokenizer GetInfo: unknown vocabulary"] = new(c => c.Tokenizer.GetInfoAsync(new GetInfoRequest { VocabularyVersion = "00000000deadbeef" }).ResponseAsync,
            StatusCode.NotFound, "00000000deadbeef"),

        // Encoder
        ["encoder Encode: no texts"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest()).ResponseAsync, StatusCode.InvalidArgument, "texts"),
        ["encoder Encode: an empty text"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog", "" } }).ResponseAsync,
            StatusCode.InvalidArgument, "texts[1]"),
        ["encoder Encode: too many texts"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { Enumerable.Repeat("a dog", 100_000) } }).ResponseAsync,
            StatusCode.InvalidArgument, "texts"),
        ["encoder Encode: a text over the length limit"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { new string('a', 1 << 20) } }).ResponseAsync,
            StatusCode.InvalidArgument, "texts[0]"),
        ["encoder Encode: unknown bundle"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog" }, BundleVersion = "20990101T000000Z-000000000000" }).ResponseAsync,
            StatusCode.NotFound, "20990101T000000Z-000000000000"),
        ["encoder Encode: invalid UTF-8 on the wire"] = new(c => RawUnaryAsync(c.Channel("encoder"), "/llmmesh.v1.Encoder/Encode", InvalidUtf8StringField(1)),
            StatusCode.InvalidArgument, "UTF-8"),
        ["encoder Encode: deadline already expired"] = new(c => c.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog" } }, deadline: DateTime.UtcNow.AddSeconds(-1)).ResponseAsync,
            StatusCode.DeadlineExceeded, ""),
        ["encoder EncodeStream: an empty text"] = new(c => DuplexAsync(c.Encoder.EncodeStream(), new EncodeTextsRequest { Texts = { "" } }),
            StatusCode.InvalidArgument, "texts[0]"),
        ["encoder Nearest: no query"] = new(c => c.Encoder.NearestAsync(new NearestRequest { K = 3 }).ResponseAsync, StatusCode.InvalidArgument, "text or latent"),
        ["encoder Nearest: k over 50"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Text = "a dog", K = 51 }).ResponseAsync, StatusCode.InvalidArgument, "k must be"),
        ["encoder Nearest: negative k"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Text = "a dog", K = -1 }).ResponseAsync, StatusCode.InvalidArgument, "-1"),
        ["encoder Nearest: blank text"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Text = "  " }).ResponseAsync, StatusCode.InvalidArgument, "text"),
        ["encoder Nearest: latent of the wrong size"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Latent = new LatentVector { Values = { new float[c.LatentSize - 1] } } }).ResponseAsync,
            StatusCode.InvalidArgument, "latent has"),
        ["encoder Nearest: NaN in the latent"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Latent = new LatentVector { Values = { Enumerable.Repeat(float.NaN, c.LatentSize) } } }).ResponseAsync,
            StatusCode.InvalidArgument, "latent[0]"),
        ["encoder Nearest: unknown model"] = new(c => c.Encoder.NearestAsync(new NearestRequest { Text = "a dog", Model = "nosuchmodel" }).ResponseAsync,
            StatusCode.NotFound, "nosuchmodel"),
        ["encoder LoadModel: bundle version as a path"] = new(c => c.Encoder.LoadModelAsync(new LoadModelRequest { BundleVersion = "../../models" }).ResponseAsync,
            StatusCode.InvalidArgument, "../../models"),

        // Generator
        ["generator Generate: NaN temperature"] = Generate(new GenerateRequest { Temperature = double.NaN }, StatusCode.InvalidArgument, "temperature"),
        ["generator Generate: infinite temperature"] = Generate(new GenerateRequest { Temperature = double.PositiveInfinity }, StatusCode.InvalidArgument, "temperature"),
        ["generator Generate: negative temperature"] = Generate(new GenerateRequest { Temperature = -1 }, StatusCode.InvalidArgument, "temperature"),
        ["generator Generate: top_p over 1"] = Generate(new GenerateRequest { TopP = 1.5 }, StatusCode.InvalidArgument, "top_p"),
        ["generator Generate: negative top_k"] = Generate(new GenerateRequest { TopK = -5 }, StatusCode.InvalidArgument, "top_k"),
        ["generator Generate: min_p NaN"] = Generate(new GenerateRequest { MinP = double.NaN }, StatusCode.InvalidArgument, "min_p"),
        ["generator Generate: zero repetition penalty"] = Generate(new GenerateRequest { RepetitionPenalty = 0 }, StatusCode.InvalidArgument, "repetition_penalty"),
        ["generator Generate: negative variation"] = Generate(new GenerateRequest { Variation = -0.5 }, StatusCode.InvalidArgument, "variation"),
        ["generator Generate: zero max_tokens"] = Generate(new GenerateRequest { MaxTokens = 0 }, StatusCode.InvalidArgument, "max_tokens"),
        ["generator Generate: max_tokens over the limit"] = Generate(new GenerateRequest { MaxTokens = int.MaxValue }, StatusCode.InvalidArgument, "max_tokens"),
        ["generator Generate: too many stop strings"] = Generate(new GenerateRequest { Stop = { Enumerable.Range(0, 50).Select(i => $"stop{i}") } }, StatusCode.InvalidArgument, "stop"),
        ["generator Generate: an empty stop string"] = Generate(new GenerateRequest { Stop = { "" } }, StatusCode.InvalidArgument, "stop[0]"),
        ["generator Generate: unknown latent source"] = Generate(new GenerateRequest { LatentSource = (LatentSource)99 }, StatusCode.InvalidArgument, "latent_source"),
        ["generator Generate: negative best_of"] = Generate(new GenerateRequest { BestOf = -1 }, StatusCode.InvalidArgument, "best_of"),
        ["generator Generate: best_of over the limit"] = Generate(new GenerateRequest { BestOf = 1000 }, StatusCode.InvalidArgument, "best_of"),
        ["generator Generate: prompt over the length limit"] = Generate(new GenerateRequest { Prompt = new string('a', 1 << 20) }, StatusCode.InvalidArgument, "prompt"),
        ["generator Generate: invalid UTF-8 on the wire"] = new(c => RawServerStreamAsync(c.Channel("generator"), "/llmmesh.v1.Generator/Generate", InvalidUtf8StringField(1)),
            StatusCode.InvalidArgument, "UTF-8"),
        ["generator Generate: deadline already expired"] = new(async c =>
        {
            using var call = c.Generator.Generate(new GenerateRequest { MaxTokens = 8 }, deadline: DateTime.UtcNow.AddSeconds(-1));
            await call.ResponseStream.MoveNext();
        }, StatusCode.DeadlineExceeded, ""),
        ["generator Generate: unknown model"] = Generate(new GenerateRequest { Model = "no-such-model" }, StatusCode.NotFound, "'no-such-model'"),
        ["generator Generate: model name outside the pattern"] = Generate(new GenerateRequest { Model = "../coco" }, StatusCode.InvalidArgument, "not a model name"),
        ["generator Generate: latent of the wrong size"] = new(async c =>
        {
            using var call = c.Generator.Generate(new GenerateRequest { Latent = { new float[c.LatentSize + 1] } });
            await call.ResponseStream.MoveNext();
        }, StatusCode.InvalidArgument, "latent has"),
        ["generator Generate: latent with NaN"] = Generate(new GenerateRequest { Latent = { 0f, float.NaN } }, StatusCode.InvalidArgument, "latent[1]"),
        ["generator Interpolate: no ends"] = new(async c =>
        {
            using var call = c.Generator.Interpolate(new InterpolateRequest());
            await call.ResponseStream.MoveNext();
        }, StatusCode.InvalidArgument, "set start and end"),
        ["generator Interpolate: too many steps"] = new(async c =>
        {
            using var call = c.Generator.Interpolate(new InterpolateRequest { Start = "a dog", End = "a cat", Steps = 65 });
            await call.ResponseStream.MoveNext();
        }, StatusCode.InvalidArgument, "steps"),
        ["trainer UploadCorpus: bad name"] = new(c => ClientStreamAsync(c.Trainer.UploadCorpus(), new UploadCorpusRequest { Name = "a b", Lines = { "x" } }),
            StatusCode.InvalidArgument, "'a b'"),
        ["trainer UploadCorpus: built-in name"] = new(c => ClientStreamAsync(c.Trainer.UploadCorpus(), new UploadCorpusRequest { Name = "coco", Lines = { "x" } }),
            StatusCode.AlreadyExists, "coco"),
        ["generator LoadModel: unknown bundle"] = new(c => c.Generator.LoadModelAsync(new LoadModelRequest { BundleVersion = "20990101T000000Z-000000000000" }).ResponseAsync,
            StatusCode.NotFound, "20990101T000000Z-000000000000"),

        // Discriminator
        ["discriminator ScoreBatch: no inputs"] = new(c => c.Discriminator.ScoreBatchAsync(new ScoreBatchRequest()).ResponseAsync, StatusCode.InvalidArgument, "inputs"),
        ["discriminator ScoreBatch: an input with nothing set"] = new(c => c.Discriminator.ScoreBatchAsync(new ScoreBatchRequest { Inputs = { new ScoreInput() } }).ResponseAsync,
            StatusCode.InvalidArgument, "inputs[0]"),
        ["discriminator ScoreBatch: latent of the wrong size"] = new(c => c.Discriminator.ScoreBatchAsync(new ScoreBatchRequest
            {
                Inputs = { new ScoreInput { Latent = new LatentVector { Values = { new float[c.LatentSize + 3] } } } },
            }).ResponseAsync, StatusCode.InvalidArgument, "inputs[0]"),
        ["discriminator ScoreBatch: NaN in a latent"] = new(c => c.Discriminator.ScoreBatchAsync(new ScoreBatchRequest
            {
                Inputs = { new ScoreInput { Latent = new LatentVector { Values = { Enumerable.Repeat(float.NaN, c.LatentSize) } } } },
            }).ResponseAsync, StatusCode.InvalidArgument, "inputs[0]"),
        ["discriminator ScoreBatch: too many inputs"] = new(c => c.Discriminator.ScoreBatchAsync(new ScoreBatchRequest
            {
                Inputs = { Enumerable.Range(0, 100_000).Select(_ => new ScoreInput { Text = "a dog" }) },
            }).ResponseAsync, StatusCode.InvalidArgument, "inputs"),
        ["discriminator Score: latent of the wrong size"] = new(c => DuplexAsync(c.Discriminator.Score(),
            new ScoreRequest { Latent = new LatentVector { Values = { 1f } } }), StatusCode.InvalidArgument, "latent"),
        ["discriminator Score: infinite latent value"] = new(c => DuplexAsync(c.Discriminator.Score(),
            new ScoreRequest { Latent = new LatentVector { Values = { Enumerable.Repeat(float.PositiveInfinity, c.LatentSize) } } }), StatusCode.InvalidArgument, "latent"),
        ["discriminator LoadModel: bundle version as a path"] = new(c => c.Discriminator.LoadModelAsync(new LoadModelRequest { BundleVersion = "/etc/passwd" }).ResponseAsync,
            StatusCode.InvalidArgument, "/etc/passwd"),

        // Trainer
        ["trainer StartRun: corpus outside the data folder"] = StartRun(new StartRunRequest { Corpus = "../AppHost/appsettings.json" }, StatusCode.InvalidArgument, "corpus"),
        ["trainer StartRun: unknown corpus"] = StartRun(new StartRunRequest { Corpus = "no-such-corpus" }, StatusCode.NotFound, "no-such-corpus"),
        ["trainer StartRun: unknown preset"] = StartRun(new StartRunRequest { Preset = "enormous" }, StatusCode.InvalidArgument, "preset"),
        ["trainer StartRun: negative epochs"] = StartRun(new StartRunRequest { Epochs = -1 }, StatusCode.InvalidArgument, "epochs"),
        ["trainer StartRun: zero batch size"] = StartRun(new StartRunRequest { BatchSize = 0 }, StatusCode.InvalidArgument, "batch_size"),
        ["trainer StartRun: NaN learning rate"] = StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { LearningRate = double.NaN } },
            StatusCode.InvalidArgument, "learning_rate"),
        ["trainer StartRun: infinite free bits"] = StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { FreeBits = double.PositiveInfinity } },
            StatusCode.InvalidArgument, "free_bits"),
        ["trainer StartRun: huge latent size"] = StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { LatentSize = int.MaxValue } },
            StatusCode.InvalidArgument, "latent_size"),
        ["trainer StartRun: unknown KL schedule"] = StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { KlSchedule = "sideways" } },
            StatusCode.InvalidArgument, "kl_schedule"),
        ["trainer StartRun: unknown learning rate schedule"] = StartRun(
            new StartRunRequest { Hyperparameters = new Hyperparameters { LearningRateSchedule = "1" } }, StatusCode.InvalidArgument, "learning_rate_schedule"),
        ["trainer StartRun: dropout of 1"] = StartRun(new StartRunRequest { Hyperparameters = new Hyperparameters { Dropout = 1 } },
            StatusCode.InvalidArgument, "dropout"),
        ["trainer StartRun: unknown start bundle"] = StartRun(new StartRunRequest { StartFromBundle = "20990101T000000Z-000000000000" },
            StatusCode.NotFound, "start_from_bundle"),
        ["trainer GetRun: empty id"] = new(c => c.Trainer.GetRunAsync(new GetRunRequest()).ResponseAsync, StatusCode.InvalidArgument, "run_id"),
        ["trainer GetRun: id as a path"] = new(c => c.Trainer.GetRunAsync(new GetRunRequest { RunId = "../../models" }).ResponseAsync, StatusCode.NotFound, "../../models"),
        ["trainer GetRun: unknown id"] = new(c => c.Trainer.GetRunAsync(new GetRunRequest { RunId = "0123456789ab" }).ResponseAsync, StatusCode.NotFound, "0123456789ab"),
        ["trainer WatchRun: unknown id"] = new(async c =>
        {
            using var call = c.Trainer.WatchRun(new WatchRunRequest { RunId = "0123456789ab" });
            await call.ResponseStream.MoveNext();
        }, StatusCode.NotFound, "0123456789ab"),
        ["trainer CancelRun: unknown id"] = new(c => c.Trainer.CancelRunAsync(new CancelRunRequest { RunId = "0123456789ab" }).ResponseAsync, StatusCode.NotFound, "0123456789ab"),
        ["trainer ListRuns: negative limit"] = new(c => c.Trainer.ListRunsAsync(new ListRunsRequest { Limit = -1 }).ResponseAsync, StatusCode.InvalidArgument, "limit"),
        ["trainer GetRun: invalid UTF-8 on the wire"] = new(c => RawUnaryAsync(c.Channel("trainer"), "/llmmesh.v1.Trainer/GetRun", InvalidUtf8StringField(1)),
            StatusCode.InvalidArgument, "UTF-8"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task A_bad_request_gets_a_precise_status_and_message(string name)
    {
        var (call, status, message) = Cases[name];
        var clients = await ClientsAsync();

        var failure = await Assert.ThrowsAsync<RpcException>(() => call(clients));

        Assert.Equal(status, failure.StatusCode);
        Assert.Contains(message, failure.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_service_stays_healthy_after_every_bad_request()
    {
        var clients = await ClientsAsync();
        foreach (var (name, bad) in Cases)
        {
            await Assert.ThrowsAsync<RpcException>(() => bad.Call(clients));
        }
        foreach (var service in new[] { "tokenizer", "encoder", "generator", "discriminator", "trainer" })
        {
            var health = await new Health.HealthClient(mesh.Channel(service)).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.True(health.Status == HealthCheckResponse.Types.ServingStatus.Serving, $"{service} is {health.Status} after the bad requests");
        }
        var encoded = await clients.Encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog on a beach" } });
        Assert.Equal(clients.LatentSize, encoded.Codes[0].Z.Count);
    }

    private async Task<Clients> ClientsAsync()
    {
        // A bundle with a latent critic, so that the discriminator serves latent codes too.
        await mesh.AraeBundleAsync();
        var generator = new Generator.GeneratorClient(mesh.Channel("generator"));
        var latentSize = (await generator.GetModelInfoAsync(new GetModelInfoRequest())).LatentSize;
        return new Clients(new Tokenizer.TokenizerClient(mesh.Channel("tokenizer")), new Encoder.EncoderClient(mesh.Channel("encoder")), generator,
            new Discriminator.DiscriminatorClient(mesh.Channel("discriminator")), new Trainer.TrainerClient(mesh.Channel("trainer")), mesh.Channel, latentSize);
    }

    private static Case Generate(GenerateRequest request, StatusCode status, string message) => new(async c =>
    {
        using var call = c.Generator.Generate(request);
        await call.ResponseStream.MoveNext();
    }, status, message);

    private static Case StartRun(StartRunRequest request, StatusCode status, string message) => new(async c =>
    {
        using var call = c.Trainer.StartRun(request);
        await call.ResponseStream.MoveNext();
    }, status, message);

    private static async Task DuplexAsync<TRequest, TResponse>(AsyncDuplexStreamingCall<TRequest, TResponse> call, TRequest request)
    {
        using (call)
        {
            await call.RequestStream.WriteAsync(request);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        }
    }

    private static async Task ClientStreamAsync<TRequest, TResponse>(AsyncClientStreamingCall<TRequest, TResponse> call, TRequest request)
    {
        using (call)
        {
            await call.RequestStream.WriteAsync(request);
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        }
    }

    /// <summary>A message whose string field <paramref name="field"/> holds bytes that are not UTF-8 (a lone continuation byte).</summary>
    private static byte[] InvalidUtf8StringField(int field) => [(byte)(field << 3 | 2), 3, (byte)'a', 0x80, (byte)'b'];

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private static Task RawUnaryAsync(GrpcChannel channel, string method, byte[] message)
    {
        var parts = method.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var raw = new Method<byte[], byte[]>(MethodType.Unary, parts[0], parts[1], Bytes, Bytes);
        return channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), message).ResponseAsync;
    }

    private static async Task RawServerStreamAsync(GrpcChannel channel, string method, byte[] message)
    {
        var parts = method.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var raw = new Method<byte[], byte[]>(MethodType.ServerStreaming, parts[0], parts[1], Bytes, Bytes);
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), message);
        while (await call.ResponseStream.MoveNext())
        {
        }
    }
}
