using System.Runtime.CompilerServices;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Client;

/// <summary>
/// Typed access to the whole mesh: server streams as <see cref="IAsyncEnumerable{T}"/> (leaving the
/// loop or cancelling ends the call, and the server stops its work), unary calls as tasks. Errors
/// are the services' <see cref="RpcException"/>s, whose status and message say what went wrong.
/// </summary>
public sealed class LlmMeshClient(
    Tokenizer.TokenizerClient tokenizer,
    Encoder.EncoderClient encoder,
    Generator.GeneratorClient generator,
    Discriminator.DiscriminatorClient discriminator,
    Trainer.TrainerClient trainer,
    Models.ModelsClient models)
{
    public Tokenizer.TokenizerClient Tokenizer => tokenizer;
    public Encoder.EncoderClient Encoder => encoder;
    public Generator.GeneratorClient Generator => generator;
    public Discriminator.DiscriminatorClient Discriminator => discriminator;
    public Trainer.TrainerClient Trainer => trainer;
    /// <summary>The named models of the store (hosted by the trainer).</summary>
    public Models.ModelsClient Models => models;

    /// <summary>Streams a generation: chunks as tokens are decoded, then one final message.</summary>
    public IAsyncEnumerable<GenerateResponse> GenerateStreamingAsync(GenerateRequest request, CancellationToken cancellationToken = default) =>
        ReadAllAsync(() => generator.Generate(request, cancellationToken: cancellationToken), cancellationToken);

    /// <summary>Runs a generation to its end and returns the final message (its text included).</summary>
    public async Task<GenerateFinal> GenerateAsync(GenerateRequest request, CancellationToken cancellationToken = default)
    {
        await foreach (var response in GenerateStreamingAsync(request, cancellationToken))
        {
            if (response.Final is { } final)
            {
                return final;
            }
        }
        throw new RpcException(new Status(StatusCode.Internal, "the generation stream ended without a final message"));
    }

    /// <param name="model">A model reference (`name`, `name@version`...); empty = the mesh's default model.</param>
    public async Task<EncodeTextsResponse> EncodeAsync(IEnumerable<string> texts, ulong? seed = null, string model = "", CancellationToken cancellationToken = default)
    {
        var request = new EncodeTextsRequest { Texts = { texts }, Model = model };
        if (seed is { } value)
        {
            request.Seed = value;
        }
        return await encoder.EncodeAsync(request, cancellationToken: cancellationToken);
    }

    /// <param name="model">A model reference; empty = the mesh's default model.</param>
    public async Task<ScoreBatchResponse> ScoreAsync(IEnumerable<ScoreInput> inputs, string model = "", CancellationToken cancellationToken = default) =>
        await discriminator.ScoreBatchAsync(new ScoreBatchRequest { Inputs = { inputs }, Model = model }, cancellationToken: cancellationToken);

    public Task<ScoreBatchResponse> ScoreTextsAsync(IEnumerable<string> texts, string model = "", CancellationToken cancellationToken = default) =>
        ScoreAsync(texts.Select(text => new ScoreInput { Text = text }), model, cancellationToken);

    /// <summary>Starts a training run and streams its progress. Leaving the stream does not stop the run: <see cref="CancelRunAsync"/> does.</summary>
    public IAsyncEnumerable<RunProgress> StartRunAsync(StartRunRequest request, CancellationToken cancellationToken = default) =>
        ReadAllAsync(() => trainer.StartRun(request, cancellationToken: cancellationToken), cancellationToken);

    public IAsyncEnumerable<RunProgress> WatchRunAsync(string runId, CancellationToken cancellationToken = default) =>
        ReadAllAsync(() => trainer.WatchRun(new WatchRunRequest { RunId = runId }, cancellationToken: cancellationToken), cancellationToken);

    public async Task<IReadOnlyList<RunInfo>> ListRunsAsync(int limit = 0, CancellationToken cancellationToken = default) =>
        (await trainer.ListRunsAsync(new ListRunsRequest { Limit = limit }, cancellationToken: cancellationToken)).Runs;

    public async Task<RunInfo> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        await trainer.GetRunAsync(new GetRunRequest { RunId = runId }, cancellationToken: cancellationToken);

    public async Task<RunInfo> CancelRunAsync(string runId, CancellationToken cancellationToken = default) =>
        await trainer.CancelRunAsync(new CancelRunRequest { RunId = runId }, cancellationToken: cancellationToken);

    /// <summary>What a serving service holds for a model reference (empty = the default model).</summary>
    public async Task<ModelInfo> GetModelInfoAsync(MeshModelService service, string model = "", CancellationToken cancellationToken = default)
    {
        var request = new GetModelInfoRequest { Model = model };
        return service switch
        {
            MeshModelService.Encoder => await encoder.GetModelInfoAsync(request, cancellationToken: cancellationToken),
            MeshModelService.Generator => await generator.GetModelInfoAsync(request, cancellationToken: cancellationToken),
            MeshModelService.Discriminator => await discriminator.GetModelInfoAsync(request, cancellationToken: cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(service), service, "not a model-serving service"),
        };
    }

    /// <summary>
    /// Uploads a corpus (one sentence per line) to the trainer, in messages of at most about 1 MiB;
    /// <paramref name="progress"/> hears the lines sent so far. Nothing is stored unless all of it arrives.
    /// </summary>
    public async Task<CorpusInfo> UploadCorpusAsync(
        string name, IEnumerable<string> lines, bool replace = false, bool skipLongLines = false,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        const int MessageBytes = 1 << 20;
        using var call = trainer.UploadCorpus(cancellationToken: cancellationToken);
        var message = new UploadCorpusRequest { Name = name, Replace = replace, SkipLongLines = skipLongLines };
        long bytes = 0, sent = 0;
        foreach (var line in lines)
        {
            message.Lines.Add(line);
            bytes += line.Length + 8;
            if (bytes >= MessageBytes)
            {
                await call.RequestStream.WriteAsync(message, cancellationToken);
                progress?.Report(sent += message.Lines.Count);
                message = new UploadCorpusRequest();
                bytes = 0;
            }
        }
        await call.RequestStream.WriteAsync(message, cancellationToken);
        progress?.Report(sent + message.Lines.Count);
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    public async Task<IReadOnlyList<CorpusInfo>> ListCorporaAsync(CancellationToken cancellationToken = default) =>
        (await trainer.ListCorporaAsync(new ListCorporaRequest(), cancellationToken: cancellationToken)).Corpora;

    public async Task<CorpusInfo> DeleteCorpusAsync(string name, CancellationToken cancellationToken = default) =>
        await trainer.DeleteCorpusAsync(new DeleteCorpusRequest { Name = name }, cancellationToken: cancellationToken);

    /// <summary>
    /// Starts the call when enumeration starts; disposing it cancels the call when the caller stops
    /// reading early. A caller's cancellation surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    private static async IAsyncEnumerable<T> ReadAllAsync<T>(Func<AsyncServerStreamingCall<T>> start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = start();
        while (true)
        {
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken))
                {
                    yield break;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the call was cancelled by the caller", ex, cancellationToken);
            }
            yield return call.ResponseStream.Current;
        }
    }
}
