using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Gateway.Api;

/// <summary>
/// The mesh's own RPCs over HTTP for browsers (the playground) and scripts: POST
/// /api/{service}/{rpc} with the request message as proto3 JSON; unary RPCs answer with the
/// response message as JSON, server-streaming ones with server-sent events (one message per
/// "data:" event; a failure after the first event is an "error" event). Errors carry the gRPC
/// status name and message, with the HTTP status of Google's gRPC-to-HTTP mapping.
/// </summary>
public static class MeshJsonEndpoints
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static IEndpointRouteBuilder MapMeshJsonEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        Unary<NearestRequest, NearestResponse>(api, "encoder/nearest", (mesh, r, ct) => mesh.Encoder.NearestAsync(r, cancellationToken: ct).ResponseAsync);
        Unary<ScoreBatchRequest, ScoreBatchResponse>(api, "discriminator/score-batch", (mesh, r, ct) => mesh.Discriminator.ScoreBatchAsync(r, cancellationToken: ct).ResponseAsync);
        Unary<GetModelInfoRequest, ModelInfo>(api, "generator/model-info", (mesh, r, ct) => mesh.Generator.GetModelInfoAsync(r, cancellationToken: ct).ResponseAsync);
        Stream<GenerateRequest, GenerateResponse>(api, "generator/generate", (mesh, r, ct) => mesh.Generator.Generate(r, cancellationToken: ct));
        Stream<InterpolateRequest, InterpolateResponse>(api, "generator/interpolate", (mesh, r, ct) => mesh.Generator.Interpolate(r, cancellationToken: ct));
        Unary<ListRunsRequest, ListRunsResponse>(api, "trainer/list-runs", (mesh, r, ct) => mesh.Trainer.ListRunsAsync(r, cancellationToken: ct).ResponseAsync);
        Unary<ListCorporaRequest, ListCorporaResponse>(api, "trainer/list-corpora", (mesh, r, ct) => mesh.Trainer.ListCorporaAsync(r, cancellationToken: ct).ResponseAsync);
        Unary<CancelRunRequest, RunInfo>(api, "trainer/cancel-run", (mesh, r, ct) => mesh.Trainer.CancelRunAsync(r, cancellationToken: ct).ResponseAsync);
        Stream<StartRunRequest, RunProgress>(api, "trainer/start-run", (mesh, r, ct) => mesh.Trainer.StartRun(r, cancellationToken: ct));
        Stream<WatchRunRequest, RunProgress>(api, "trainer/watch-run", (mesh, r, ct) => mesh.Trainer.WatchRun(r, cancellationToken: ct));
        Unary<ListModelsRequest, ListModelsResponse>(api, "models/list-models", (mesh, r, ct) => mesh.Models.ListModelsAsync(r, cancellationToken: ct).ResponseAsync);
        return app;
    }

    private static void Unary<TRequest, TResponse>(RouteGroupBuilder api, string route, Func<LlmMeshClient, TRequest, CancellationToken, Task<TResponse>> call)
        where TRequest : IMessage<TRequest>, new() where TResponse : IMessage =>
        api.MapPost(route, (HttpContext context, LlmMeshClient mesh) => HandleAsync(context, async () =>
        {
            var response = await call(mesh, await ReadAsync<TRequest>(context), context.RequestAborted);
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(Formatter.Format(response), context.RequestAborted);
        }));

    private static void Stream<TRequest, TResponse>(RouteGroupBuilder api, string route, Func<LlmMeshClient, TRequest, CancellationToken, AsyncServerStreamingCall<TResponse>> call)
        where TRequest : IMessage<TRequest>, new() where TResponse : IMessage =>
        api.MapPost(route, (HttpContext context, LlmMeshClient mesh) => HandleAsync(context, async () =>
        {
            var cancellationToken = context.RequestAborted;
            using var stream = call(mesh, await ReadAsync<TRequest>(context), cancellationToken);
            // The first message decides the status: a refused request is an HTTP error, not a stream.
            var any = await stream.ResponseStream.MoveNext(cancellationToken);
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            try
            {
                for (var more = any; more; more = await stream.ResponseStream.MoveNext(cancellationToken))
                {
                    await WriteEventAsync(context, "", Formatter.Format(stream.ResponseStream.Current), cancellationToken);
                }
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                await WriteEventAsync(context, "error", ErrorJson(ex.StatusCode, ex.Status.Detail), cancellationToken);
            }
        }));

    private static async Task<TRequest> ReadAsync<TRequest>(HttpContext context) where TRequest : IMessage<TRequest>, new()
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        try
        {
            return string.IsNullOrWhiteSpace(body) ? new TRequest() : Parser.Parse<TRequest>(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the body is not a {new TRequest().Descriptor.FullName} in JSON: {ex.Message}"));
        }
        catch (InvalidJsonException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the body is not valid JSON: {ex.Message}"));
        }
    }

    private static async Task HandleAsync(HttpContext context, Func<Task> handle)
    {
        try
        {
            await handle();
        }
        catch (RpcException ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            context.Response.StatusCode = HttpStatusOf(ex.StatusCode);
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(ErrorJson(ex.StatusCode, ex.Status.Detail), context.RequestAborted);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; its call was cancelled with the request.
        }
    }

    /// <summary>Google's mapping of gRPC status codes to HTTP (google/rpc/code.proto).</summary>
    public static int HttpStatusOf(StatusCode status) => status switch
    {
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Cancelled => StatusCodes.Status499ClientClosedRequest,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static string ErrorJson(StatusCode status, string message) =>
        new JsonObject { ["error"] = new JsonObject { ["status"] = StatusName(status), ["message"] = message } }.ToJsonString();

    /// <summary>INVALID_ARGUMENT, NOT_FOUND, ... as gRPC names them.</summary>
    private static string StatusName(StatusCode status) =>
        string.Concat(status.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    private static async Task WriteEventAsync(HttpContext context, string eventName, string json, CancellationToken cancellationToken)
    {
        var frame = (eventName.Length > 0 ? $"event: {eventName}\n" : "") + $"data: {json}\n\n";
        await context.Response.WriteAsync(frame, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }
}
