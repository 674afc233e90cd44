using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.ClientFactory;
using LlmMesh.Contracts.V1;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using TokenizerClient = LlmMesh.Contracts.V1.Tokenizer.TokenizerClient;

namespace LlmMesh.Trainer.Tests;

/// <summary>Folders a trainer works in: corpora, runs and the model store.</summary>
public sealed class TrainerFolders : IDisposable
{
    public TrainerFolders()
    {
        Root = Directory.CreateTempSubdirectory("llmmesh-trainer-").FullName;
        Directory.CreateDirectory(Path.Combine(DataDirectory, "tiny"));
        File.WriteAllLines(Path.Combine(DataDirectory, "tiny", "train.txt"), Corpus);
    }

    /// <summary>600 COCO captions: enough for a tiny model to learn something in seconds.</summary>
    public static IReadOnlyList<string> Corpus { get; } = RepositoryPaths.CocoLines(600);

    /// <summary>The vocabulary an <see cref="InProcessTokenizer"/> started on <see cref="Corpus"/> has active.</summary>
    public static string VocabularyVersion { get; } = InProcessTokenizer.TrainVocabulary(Corpus).Version;

    public string Root { get; }
    public string DataDirectory => Path.Combine(Root, "data");
    public string CorporaDirectory => Path.Combine(Root, "corpora");
    public string RunsDirectory => Path.Combine(Root, "runs");
    public string ModelStore => Path.Combine(Root, "models");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The trainer service in-process over the given folders, its tokenizer an <see cref="InProcessTokenizer"/>.</summary>
public sealed class TrainerServiceFactory(TrainerFolders folders, InProcessTokenizer tokenizer) : WebApplicationFactory<Program>
{
    private GrpcChannel? _channel;

    public ITestHarness Harness => Services.GetTestHarness();

    public LlmMesh.Contracts.V1.Trainer.TrainerClient CreateTrainerClient() =>
        new(_channel ??= GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions { HttpHandler = Server.CreateHandler() }));

    /// <summary>A tiny model for a tiny corpus: a run takes seconds. No adversarial phase unless asked for; the active vocabulary.</summary>
    public static StartRunRequest TinyRun(int epochs = 2, ulong seed = 5, long adversarialSteps = 0) => new()
    {
        Corpus = "tiny",
        VocabularyVersion = TrainerFolders.VocabularyVersion,
        Epochs = epochs,
        BatchSize = 32,
        Seed = seed,
        Hyperparameters = new Hyperparameters
        {
            EmbeddingSize = 16,
            HiddenSize = 32,
            LatentSize = 8,
            CheckpointEverySteps = 10,
            ValidationFraction = 0.1,
            AdversarialSteps = adversarialSteps,
            LatentHiddenSize = 32,
            TextDiscriminatorEpochs = 1,
            EvaluationSamples = 60,
        },
    };

    public async Task<(List<ProgressUpdate> Updates, RunInfo Final)> ReadToEndAsync(IAsyncStreamReader<RunProgress> stream)
    {
        var updates = new List<ProgressUpdate>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await foreach (var progress in stream.ReadAllAsync(timeout.Token))
        {
            if (progress.EventCase == RunProgress.EventOneofCase.Final)
            {
                return (updates, progress.Final);
            }
            updates.Add(progress.Update);
        }
        throw new InvalidOperationException("the stream ended without a final message");
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Trainer:DataDirectory", folders.DataDirectory);
        builder.UseSetting("Trainer:CorporaDirectory", folders.CorporaDirectory);
        builder.UseSetting("Trainer:RunsDirectory", folders.RunsDirectory);
        builder.UseSetting("Trainer:Threads", "1");
        builder.UseSetting("Trainer:AutoTrainPreset", "");
        builder.UseSetting("ModelStore:Path", folders.ModelStore);
        builder.UseSetting("GrpcClients:tokenizer:Address", "http://localhost");
        builder.ConfigureServices(services =>
        {
            services.AddMassTransitTestHarness();
            // Events leave through a background queue that may lag behind a busy run: wait longer than 1.2 s of silence.
            services.Configure<TestHarnessOptions>(o => o.TestInactivityTimeout = TimeSpan.FromSeconds(10));
            services.AddHttpClient(nameof(TokenizerClient)).ConfigurePrimaryHttpMessageHandler(() => tokenizer.Server.CreateHandler());
        });
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
    }
}
