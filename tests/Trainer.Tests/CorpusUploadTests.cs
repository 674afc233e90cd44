using Grpc.Core;
using LlmMesh.Trainer.Corpora;
using LlmMesh.Contracts.V1;
using TrainerClient = LlmMesh.Contracts.V1.Trainer.TrainerClient;

namespace LlmMesh.Trainer.Tests;

public sealed class CorpusUploadTests : InProcessTrainerTest
{
    private static async Task<CorpusInfo> UploadAsync(TrainerClient client, params UploadCorpusRequest[] messages)
    {
        using var call = client.UploadCorpus();
        foreach (var message in messages)
        {
            await call.RequestStream.WriteAsync(message);
        }
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    /// <summary>The lines in messages of 100, the first one naming the corpus.</summary>
    private static UploadCorpusRequest[] Messages(string name, IEnumerable<string> lines, bool replace = false) =>
        lines.Chunk(100).Select((chunk, i) => new UploadCorpusRequest { Name = i == 0 ? name : "", Replace = replace && i == 0, Lines = { chunk } }).ToArray();

    [Fact]
    public async Task An_uploaded_corpus_is_listed_and_a_run_trains_on_it_by_name()
    {
        var client = Service.CreateTrainerClient();

        var stored = await UploadAsync(client, Messages("captions", TrainerFolders.Corpus.Append("").Append(TrainerFolders.Corpus[0])));

        Assert.Equal("captions", stored.Name);
        Assert.Equal(TrainerFolders.Corpus.Distinct().Count(), stored.Lines);
        Assert.Equal(1, stored.Dropped.Empty);
        Assert.True(stored.Dropped.Duplicate >= 1);
        Assert.Equal(64, stored.Sha256.Length);
        var listed = await client.ListCorporaAsync(new ListCorporaRequest());
        Assert.Equal(["captions", "tiny"], listed.Corpora.Select(c => c.Name));
        Assert.Equal(stored, listed.Corpora[0]);
        Assert.True(listed.Corpora[1].BuiltIn);

        var request = TrainerServiceFactory.TinyRun(epochs: 1);
        request.Corpus = "captions";
        using var run = client.StartRun(request);
        var (_, final) = await Service.ReadToEndAsync(run.ResponseStream);
        RunOutcome.AssertCompleted(final);
        Assert.Equal("captions", final.Corpus);
    }

    [Fact]
    public async Task A_run_naming_no_vocabulary_learns_one_from_its_corpus_once()
    {
        var client = Service.CreateTrainerClient();
        var request = TrainerServiceFactory.TinyRun(epochs: 1);
        request.VocabularyVersion = "";

        var first = await RunToEndAsync(client, request);
        var second = await RunToEndAsync(client, request);

        RunOutcome.AssertCompleted(first);
        Assert.NotEqual(Tokenizer.Vocabulary.Version, first.VocabularyVersion); // not the active one: the corpus's own
        Assert.Equal(first.VocabularyVersion, second.VocabularyVersion);
        Assert.Equal(1, Tokenizer.VocabulariesTrained);
        var learned = await InProcessTokenizerInfo(first.VocabularyVersion);
        Assert.InRange(learned, 300, CorpusVocabularies.SizeFor(new FileInfo(Path.Combine(Folders.DataDirectory, "tiny", "train.txt")).Length));
    }

    [Fact]
    public async Task A_chinese_corpus_trains_through_every_phase_with_a_vocabulary_of_its_own()
    {
        var client = Service.CreateTrainerClient();
        var lines = File.ReadLines(Path.Combine(LlmMesh.TestSupport.RepositoryPaths.Root, "data", "samples", "zh-captions.txt")).Take(600);
        await UploadAsync(client, Messages("zh-captions", lines));
        var request = TrainerServiceFactory.TinyRun(epochs: 1, adversarialSteps: 20);
        request.Corpus = "zh-captions";
        request.Model = "zh";
        request.VocabularyVersion = "";

        var final = await RunToEndAsync(client, request);

        Assert.True(final.State == RunState.Completed, final.Error);
        Assert.Equal("zh", final.Model);
        Assert.NotEqual(Tokenizer.Vocabulary.Version, final.VocabularyVersion);
        Assert.InRange(final.Metrics["bleu4"], 0.01, 1); // Chinese words are characters: BLEU counts their n-grams
        Assert.True(final.Metrics["fluency_auc"] > 0); // the shuffled negatives exist (characters reordered)
    }

    private async Task<RunInfo> RunToEndAsync(TrainerClient client, StartRunRequest request)
    {
        using var run = client.StartRun(request);
        return (await Service.ReadToEndAsync(run.ResponseStream)).Final;
    }

    private async Task<int> InProcessTokenizerInfo(string version)
    {
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(Tokenizer.Server.BaseAddress,
            new global::Grpc.Net.Client.GrpcChannelOptions { HttpHandler = Tokenizer.Server.CreateHandler() });
        var info = await new Tokenizer.TokenizerClient(channel).GetInfoAsync(new GetInfoRequest { VocabularyVersion = version });
        return info.VocabularySize;
    }

    public static TheoryData<string, UploadCorpusRequest[], StatusCode, string> BadUploads => new()
    {
        { "no message", [], StatusCode.InvalidArgument, "must name the corpus" },
        { "no name", [new() { Lines = { "a line" } }], StatusCode.InvalidArgument, "name is empty" },
        { "bad name", [new() { Name = "my corpus", Lines = { "a line" } }], StatusCode.InvalidArgument, "'my corpus' is not a corpus name" },
        { "name changes", [new() { Name = "one", Lines = { "a line" } }, new() { Name = "two", Lines = { "b line" } }], StatusCode.InvalidArgument, "not 'two'" },
        { "built-in name", [new() { Name = "tiny", Lines = { "a line" } }], StatusCode.AlreadyExists, "ships with the mesh" },
        { "built-in replaced", [new() { Name = "tiny", Replace = true, Lines = { "a line" } }], StatusCode.FailedPrecondition, "cannot be replaced" },
        { "long line", [new() { Name = "long", Lines = { "short", new string('x', 2001) } }], StatusCode.InvalidArgument, "line 2 has 2001 characters" },
        { "too few lines", [new() { Name = "few", Lines = { "one", "two", "one" } }], StatusCode.InvalidArgument, "2 usable lines" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task A_bad_upload_gets_a_precise_status_and_stores_nothing(string problem, UploadCorpusRequest[] messages, StatusCode status, string detail)
    {
        var client = Service.CreateTrainerClient();

        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(client, messages));

        Assert.True(error.StatusCode == status, $"{problem}: {error.StatusCode} {error.Status.Detail}");
        Assert.Contains(detail, error.Status.Detail);
        Assert.Equal(["tiny"], (await client.ListCorporaAsync(new ListCorporaRequest())).Corpora.Select(c => c.Name));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Folders.CorporaDirectory));
    }

    [Fact]
    public async Task A_stored_name_is_replaced_only_when_asked_and_never_under_a_training_run()
    {
        var client = Service.CreateTrainerClient();
        await UploadAsync(client, Messages("captions", TrainerFolders.Corpus));

        var exists = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(client, Messages("captions", TrainerFolders.Corpus)));
        Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);

        var request = TrainerServiceFactory.TinyRun(epochs: 50);
        request.Corpus = "captions";
        using var run = client.StartRun(request);
        Assert.True(await run.ResponseStream.MoveNext()); // started: the run owns its corpus now
        var runId = run.ResponseStream.Current.Update.RunId;

        var busy = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(client, Messages("captions", TrainerFolders.Corpus.Take(100), replace: true)));
        Assert.Equal(StatusCode.FailedPrecondition, busy.StatusCode);
        Assert.Contains(runId, busy.Status.Detail);
        var deleteBusy = await Assert.ThrowsAsync<RpcException>(async () => await client.DeleteCorpusAsync(new DeleteCorpusRequest { Name = "captions" }));
        Assert.Equal(StatusCode.FailedPrecondition, deleteBusy.StatusCode);

        await client.CancelRunAsync(new CancelRunRequest { RunId = runId });
        await Service.ReadToEndAsync(run.ResponseStream);
        var replaced = await UploadAsync(client, Messages("captions", TrainerFolders.Corpus.Take(100), replace: true));
        Assert.True(replaced.Replaced);
        Assert.Equal(100, replaced.Lines);

        Assert.Equal("captions", (await client.DeleteCorpusAsync(new DeleteCorpusRequest { Name = "captions" })).Name);
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await client.DeleteCorpusAsync(new DeleteCorpusRequest { Name = "captions" }));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task A_cancelled_upload_leaves_nothing_behind()
    {
        var client = Service.CreateTrainerClient();
        using var cancellation = new CancellationTokenSource();
        using var call = client.UploadCorpus(cancellationToken: cancellation.Token);
        await call.RequestStream.WriteAsync(Messages("halfway", TrainerFolders.Corpus)[0]);
        await WaitUntilAsync(() => Directory.EnumerateFileSystemEntries(Folders.CorporaDirectory).Any()); // the upload is being written

        await cancellation.CancelAsync();

        await WaitUntilAsync(() => !Directory.EnumerateFileSystemEntries(Folders.CorporaDirectory).Any());
        Assert.Equal(["tiny"], (await client.ListCorporaAsync(new ListCorporaRequest())).Corpora.Select(c => c.Name));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
