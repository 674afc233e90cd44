using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Trainer.Runs;
using TrainerBase = LlmMesh.Contracts.V1.Trainer.TrainerBase;

namespace LlmMesh.Trainer.Grpc;

public sealed class TrainerGrpcService(RunCoordinator coordinator) : TrainerBase
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
