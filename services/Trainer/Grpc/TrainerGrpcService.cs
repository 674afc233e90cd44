using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Trainer.Corpora;
using LlmMesh.Trainer.Runs;
using TrainerBase = LlmMesh.Contracts.V1.Trainer.TrainerBase;

namespace LlmMesh.Trainer.Grpc;

public sealed class TrainerGrpcService(RunCoordinator coordinator, CorpusLibrary corpora) : TrainerBase
{
    private const int DefaultListLimit = 50;

    public override async Task StartRun(StartRunRequest request, IServerStreamWriter<RunProgress> responseStream, ServerCallContext context)
    {
        var run = coordinator.Start(RunSettings.FromRequest(request));
        await StreamAsync(run, responseStream, context.CancellationToken);
    }

    public override Task WatchRun(WatchRunRequest request, IServerStreamWriter<RunProgress> responseStream, ServerCallContext context) =>
        StreamAsync(FindRun(request.RunId), responseStream, context.CancellationToken);

    public override Task<RunInfo> GetRun(GetRunRequest request, ServerCallContext context) =>
        Task.FromResult(FindRun(request.RunId).Record.ToInfo());

    public override Task<ListRunsResponse> ListRuns(ListRunsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0)
        {
            throw new ArgumentException($"limit must not be negative, not {request.Limit}");
        }
        var response = new ListRunsResponse();
        response.Runs.AddRange(coordinator.List(request.Limit == 0 ? DefaultListLimit : request.Limit).Select(r => r.ToInfo()));
        return Task.FromResult(response);
    }

    public override Task<RunInfo> CancelRun(CancelRunRequest request, ServerCallContext context)
    {
        RequireRunId(request.RunId);
        return Task.FromResult(coordinator.Cancel(request.RunId).ToInfo());
    }

    public override async Task<CorpusInfo> UploadCorpus(IAsyncStreamReader<UploadCorpusRequest> requestStream, ServerCallContext context)
    {
        CorpusUpload? upload = null;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                upload ??= BeginUpload(request);
                if (request.Name.Length > 0 && request.Name != upload.Name)
                {
                    throw new ArgumentException($"name: the upload is for corpus '{upload.Name}', not '{request.Name}'");
                }
                foreach (var line in request.Lines)
                {
                    upload.Add(line);
                }
            }
            if (upload is null)
            {
                throw new ArgumentException("the upload is empty: the first message must name the corpus");
            }
            return coordinator.ChangeCorpus(upload.Name, () => corpora.Commit(upload)).ToInfo();
        }
        finally
        {
            upload?.Dispose();
        }
    }

    public override Task<ListCorporaResponse> ListCorpora(ListCorporaRequest request, ServerCallContext context)
    {
        var response = new ListCorporaResponse();
        response.Corpora.AddRange(corpora.List().Select(c => c.ToInfo()));
        return Task.FromResult(response);
    }

    public override Task<CorpusInfo> DeleteCorpus(DeleteCorpusRequest request, ServerCallContext context) =>
        Task.FromResult(coordinator.ChangeCorpus(request.Name, () => corpora.Delete(request.Name)).ToInfo());

    /// <summary>Refuses at the first message what the end of the upload would refuse.</summary>
    private CorpusUpload BeginUpload(UploadCorpusRequest first)
    {
        if (first.Replace)
        {
            coordinator.RequireCorpusFree(first.Name);
        }
        return corpora.BeginUpload(first.Name, first.Replace, first.SkipLongLines);
    }

    private static async Task StreamAsync(TrainingRun run, IServerStreamWriter<RunProgress> responseStream, CancellationToken cancellationToken)
    {
        var events = run.Watch();
        try
        {
            await foreach (var runEvent in events.ReadAllAsync(cancellationToken))
            {
                await responseStream.WriteAsync(runEvent.ToProgress(), cancellationToken);
            }
        }
        finally
        {
            run.Unwatch(events);
        }
    }

    private TrainingRun FindRun(string runId)
    {
        RequireRunId(runId);
        return coordinator.Find(runId);
    }

    private static void RequireRunId(string runId)
    {
        if (string.IsNullOrEmpty(runId))
        {
            throw new ArgumentException("run_id is empty");
        }
        if (!RunRepository.IsValidRunId(runId))
        {
            throw new MeshException(MeshErrorKind.NotFound, $"run '{runId}' was not found (run ids are 12 hex digits)");
        }
    }
}
