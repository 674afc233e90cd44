using System.Text.RegularExpressions;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// Your own text through the host: a Chinese corpus uploaded, trained with a vocabulary learned
/// from it as the named model "zh", served beside the default COCO model; versions, aliases and
/// deletion through the Models service.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed partial class NamedModelsThroughHostTests(MeshFixture mesh)
{
    private const string Model = "zh";

    [Fact]
    public async Task An_uploaded_chinese_corpus_becomes_a_named_model_whose_stream_runs_beside_cocos()
    {
        var trainer = new Trainer.TrainerClient(mesh.Channel("trainer"));
        var generator = new Generator.GeneratorClient(mesh.Channel("generator"));
        var first = await NamedModelFixture.TrainAsync(mesh, trainer, seed: 3);

        Assert.Equal(Model, first.Model);
        var tokenizer = await new Tokenizer.TokenizerClient(mesh.Channel("tokenizer")).GetInfoAsync(new GetInfoRequest());
        Assert.NotEqual(tokenizer.ActiveVersion, first.VocabularyVersion); // learned from the corpus, not activated
        Assert.Contains(first.VocabularyVersion, tokenizer.AvailableVersions);

        // Both streams open at once and are read in turns: each model answers in its own language.
        using var zh = generator.Generate(new GenerateRequest { Model = Model, Seed = 4, MaxTokens = 24, Temperature = 0.7 });
        using var coco = generator.Generate(new GenerateRequest { Seed = 4, MaxTokens = 24, Temperature = 0.7 });
        var (zhText, zhFinal, cocoText, cocoFinal) = await ReadInTurnsAsync(zh.ResponseStream, coco.ResponseStream);

        Assert.Equal(first.BundleVersion, zhFinal.BundleVersion);
        Assert.Equal(zhText, zhFinal.Text);
        Assert.Matches(Han(), zhText);
        Assert.DoesNotMatch(Latin(), zhText);
        Assert.Matches(Latin(), cocoText);
        Assert.DoesNotMatch(Han(), cocoText);
        Assert.NotEqual(first.BundleVersion, cocoFinal.BundleVersion);

        var info = await generator.GetModelInfoAsync(new GetModelInfoRequest { Model = Model });
        Assert.Equal(Model, info.Model);
        Assert.Equal(first.VocabularyVersion, info.VocabularyVersion);
        Assert.Contains(info.ResidentModels, r => r.Model == Model && r.Serving);
        Assert.Contains(info.ResidentModels, r => r.Model == "coco" && r.Serving);

        var models = await new Models.ModelsClient(mesh.Channel("trainer")).ListModelsAsync(new ListModelsRequest());
        Assert.Contains(models.Models, m => m.Name == "coco");
        var described = Assert.Single(models.Models, m => m.Name == Model);
        Assert.Equal(NamedModelFixture.Corpus, described.Corpus);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = generator.Generate(new GenerateRequest { Model = "no-such-model" });
            await call.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("'no-such-model'", unknown.Status.Detail);
    }

    [Fact]
    public async Task A_new_version_is_followed_a_pinned_one_served_aliases_switch_and_roll_back_and_a_held_version_is_not_deleted()
    {
        var trainer = new Trainer.TrainerClient(mesh.Channel("trainer"));
        var generator = new Generator.GeneratorClient(mesh.Channel("generator"));
        var models = new Models.ModelsClient(mesh.Channel("trainer"));
        var v1 = (await NamedModelFixture.TrainAsync(mesh, trainer, seed: 5)).BundleVersion;
        await WaitUntilServedAsync(generator, Model, v1); // the other test may have had an older zh served

        var v2 = (await NamedModelFixture.TrainAsync(mesh, trainer, seed: 6)).BundleVersion;
        await WaitUntilServedAsync(generator, Model, v2); // hot reload of "zh" alone
        Assert.Equal(v1, (await GenerateAsync(generator, $"{Model}@{v1}")).BundleVersion);

        var stable = await models.SetAliasAsync(new SetAliasRequest { Name = Model, Alias = "stable", Version = v1 });
        Assert.Equal(v1, stable.DefaultVersion);
        Assert.Equal(v1, (await GenerateAsync(generator, Model)).BundleVersion); // rolled back (v1 is already held)

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await models.DeleteVersionAsync(new DeleteVersionRequest { Name = Model, Version = v1 }));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);

        await models.SetAliasAsync(new SetAliasRequest { Name = Model, Alias = "stable", Version = "" });
        var latest = (await models.GetModelAsync(new GetModelRequest { Name = Model })).Aliases["latest"];
        await WaitUntilServedAsync(generator, Model, latest); // the name follows the newest again; v1 has left the generator

        // A pinned request brings v1 back beside it: while the generator holds it, it cannot be deleted.
        Assert.Equal(v1, (await GenerateAsync(generator, $"{Model}@{v1}")).BundleVersion);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (!(await models.GetModelAsync(new GetModelRequest { Name = Model })).Versions.Single(v => v.Version == v1).ServedBy.Any(s => s.StartsWith("generator", StringComparison.Ordinal)))
            {
                await Task.Delay(100, timeout.Token);
            }
        }
        var held = await Assert.ThrowsAsync<RpcException>(async () =>
            await models.DeleteVersionAsync(new DeleteVersionRequest { Name = Model, Version = v1 }));
        Assert.Equal(StatusCode.FailedPrecondition, held.StatusCode);
        Assert.Contains("generator", held.Status.Detail);
    }

    private static async Task<GenerateFinal> GenerateAsync(Generator.GeneratorClient generator, string model)
    {
        using var call = generator.Generate(new GenerateRequest { Model = model, Seed = 1, MaxTokens = 8 });
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.EventCase == GenerateResponse.EventOneofCase.Final)
            {
                return response.Final;
            }
        }
        throw new InvalidOperationException("no final message");
    }

    /// <summary>Waits (bounded) until requests naming <paramref name="model"/> get <paramref name="version"/>.</summary>
    private static async Task WaitUntilServedAsync(Generator.GeneratorClient generator, string model, string version)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while ((await GenerateAsync(generator, model)).BundleVersion != version)
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    private static async Task<(string, GenerateFinal, string, GenerateFinal)> ReadInTurnsAsync(
        IAsyncStreamReader<GenerateResponse> first, IAsyncStreamReader<GenerateResponse> second)
    {
        var (firstText, secondText) = ("", "");
        GenerateFinal? firstFinal = null, secondFinal = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (firstFinal is null || secondFinal is null)
        {
            if (firstFinal is null && await first.MoveNext(timeout.Token))
            {
                firstText += first.Current.Chunk?.Text;
                firstFinal = first.Current.Final;
            }
            if (secondFinal is null && await second.MoveNext(timeout.Token))
            {
                secondText += second.Current.Chunk?.Text;
                secondFinal = second.Current.Final;
            }
        }
        return (firstText, firstFinal, secondText, secondFinal);
    }

    [GeneratedRegex(@"\p{IsCJKUnifiedIdeographs}")]
    private static partial Regex Han();

    [GeneratedRegex("[A-Za-z]")]
    private static partial Regex Latin();
}

/// <summary>The sample Chinese corpus, uploaded once per host, and tiny runs of the "zh" model on it.</summary>
internal static class NamedModelFixture
{
    public const string Corpus = "zh-captions";
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<RunInfo> TrainAsync(MeshFixture mesh, Trainer.TrainerClient trainer, ulong seed)
    {
        await Gate.WaitAsync();
        try
        {
            var corpora = await trainer.ListCorporaAsync(new ListCorporaRequest());
            if (corpora.Corpora.All(c => c.Name != Corpus))
            {
                using var upload = trainer.UploadCorpus();
                foreach (var chunk in File.ReadLines(Path.Combine(RepositoryPaths.Root, "data", "samples", "zh-captions.txt")).Chunk(500))
                {
                    await upload.RequestStream.WriteAsync(new UploadCorpusRequest { Name = Corpus, Lines = { chunk } });
                }
                await upload.RequestStream.CompleteAsync();
                Assert.Equal(3456, (await upload).Lines);
            }
            using var call = trainer.StartRun(new StartRunRequest
            {
                Corpus = Corpus,
                Model = "zh",
                Steps = 80,
                BatchSize = 64,
                Seed = seed,
                Hyperparameters = new Hyperparameters
                {
                    EmbeddingSize = 32, HiddenSize = 48, LatentSize = 8, CheckpointEverySteps = 1000, AdversarialSteps = 0, EvaluationSamples = 50,
                },
            }, deadline: DateTime.UtcNow.AddMinutes(3));
            await foreach (var progress in call.ResponseStream.ReadAllAsync())
            {
                if (progress.Final is { } final)
                {
                    Assert.True(final.State == RunState.Completed, $"the zh run ended {final.State}: {final.Error}");
                    return final;
                }
            }
            throw new InvalidOperationException("the zh run's stream ended without a final message");
        }
        finally
        {
            Gate.Release();
        }
    }
}
