using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Grpc.Core;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Gateway.OpenAi;
using Microsoft.Extensions.Options;

namespace LlmMesh.Gateway.Api;

/// <summary>
/// OpenAI-compatible HTTP API over the generator: /v1/models, /v1/completions and
/// /v1/chat/completions, whole responses or server-sent events ending in "data: [DONE]".
/// </summary>
public static class OpenAiEndpoints
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static IEndpointRouteBuilder MapOpenAiEndpoints(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/models", (HttpContext context, LlmMeshClient mesh, IOptions<GatewayOptions> options) =>
            HandleAsync(context, async () => await WriteJsonAsync(context, await ListModelsAsync(mesh, options.Value, context.RequestAborted), OpenAiJsonContext.Readable.ModelListResponse)));
        v1.MapGet("/models/{id}", (string id, HttpContext context, LlmMeshClient mesh, IOptions<GatewayOptions> options) =>
            HandleAsync(context, async () =>
            {
                var models = await ListModelsAsync(mesh, options.Value, context.RequestAborted);
                var model = models.Data.FirstOrDefault(m => m.Id == id) ?? throw OpenAiException.ModelNotFound(id, "no model has that id");
                await WriteJsonAsync(context, model, OpenAiJsonContext.Readable.ModelResponse);
            }));
        v1.MapPost("/completions", (HttpContext context, LlmMeshClient mesh, IOptions<GatewayOptions> options) =>
            HandleAsync(context, async () =>
            {
                var request = await ReadAsync(context, OpenAiJsonContext.Readable.CompletionRequest);
                var choices = OpenAiRequestMapper.ForCompletion(request, options.Value.MaxChoices);
                var model = await ResolveModelAsync(mesh, request.Model, choices, options.Value, context.RequestAborted);
                await CompleteAsync(context, mesh, request, choices, new CompletionBuilder(chat: false, model, choices, request.N ?? 1, request.Echo));
            }));
        v1.MapPost("/chat/completions", (HttpContext context, LlmMeshClient mesh, IOptions<GatewayOptions> options) =>
            HandleAsync(context, async () =>
            {
                var request = await ReadAsync(context, OpenAiJsonContext.Readable.ChatCompletionRequest);
                var choices = OpenAiRequestMapper.ForChat(request, options.Value.MaxChoices);
                var model = await ResolveModelAsync(mesh, request.Model, choices, options.Value, context.RequestAborted);
                await CompleteAsync(context, mesh, request, choices, new CompletionBuilder(chat: true, model, choices, request.N ?? 1));
            }));
        return app;
    }

    private static async Task CompleteAsync(
        HttpContext context, LlmMeshClient mesh, SamplingRequest request, IReadOnlyList<GenerateRequest> choices, CompletionBuilder builder)
    {
        var cancellationToken = context.RequestAborted;
        await using var messages = ChoiceStreams.RunAsync(mesh, choices, cancellationToken).GetAsyncEnumerator(cancellationToken);
        // The generator replicas that served the choices (x-llmmesh-instance): all of them for a
        // whole response, those that had answered when a stream's headers went out.
        var instances = new SortedSet<string>(StringComparer.Ordinal);
        async Task<bool> NextAndNoteAsync()
        {
            var more = await NextAsync(messages);
            if (more && messages.Current.Instance.Length > 0)
            {
                instances.Add(messages.Current.Instance);
            }
            return more;
        }
        if (!request.Stream)
        {
            while (await NextAndNoteAsync())
            {
                builder.Add(messages.Current);
            }
            context.Response.Headers[MeshInstance.HeaderName] = string.Join(", ", instances);
            await WriteJsonAsync(context, builder.Response(), OpenAiJsonContext.Readable.Object);
            return;
        }
        // The first message decides the status: a request the generator refuses is an HTTP error, not a stream.
        var any = await NextAndNoteAsync();
        context.Response.Headers[MeshInstance.HeaderName] = string.Join(", ", instances);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            for (var more = any; more; more = await NextAndNoteAsync())
            {
                if (builder.Add(messages.Current) is { } chunk)
                {
                    await WriteEventAsync(context, chunk, cancellationToken);
                }
            }
            if (request.StreamOptions?.IncludeUsage == true)
            {
                await WriteEventAsync(context, builder.UsageChunk(), cancellationToken);
            }
        }
        catch (OpenAiException ex) when (ex.StatusCode != StatusCodes.Status499ClientClosedRequest)
        {
            // Headers are gone: the error becomes the stream's last event.
            await WriteEventAsync(context, ex.ToResponse(), cancellationToken);
        }
        await context.Response.Body.WriteAsync(Done, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    private static async Task<bool> NextAsync(IAsyncEnumerator<ChoiceEvent> messages)
    {
        try
        {
            return await messages.MoveNextAsync();
        }
        catch (RpcException ex)
        {
            throw OpenAiException.FromRpc(ex);
        }
    }

    /// <summary>
    /// Points every choice at the requested model (none or the gateway's alias = the mesh's default
    /// model) and returns the name responses carry: the model as requested, or the default model's
    /// bundle version. An unknown model is 404 model_not_found.
    /// </summary>
    private static async Task<string> ResolveModelAsync(
        LlmMeshClient mesh, string? requested, IReadOnlyList<GenerateRequest> choices, GatewayOptions options, CancellationToken cancellationToken)
    {
        var reference = string.IsNullOrEmpty(requested) || requested == options.ModelAlias ? "" : requested;
        var info = await GetModelInfoAsync(mesh, reference, cancellationToken);
        foreach (var choice in choices)
        {
            choice.Model = reference;
        }
        return reference.Length == 0 ? info.BundleVersion : reference;
    }

    /// <summary>
    /// Every named model (from the store's Models service), the gateway's alias for the default
    /// model and the default model's bundle version. Without the Models service, only the latter two.
    /// </summary>
    private static async Task<ModelListResponse> ListModelsAsync(LlmMeshClient mesh, GatewayOptions options, CancellationToken cancellationToken)
    {
        var info = await GetModelInfoAsync(mesh, "", cancellationToken);
        var created = DateTimeOffset.TryParse(info.CreatedAt, out var at) ? at.ToUnixTimeSeconds() : 0;
        List<ModelResponse> data =
        [
            new(info.BundleVersion, "model", created, "llmmesh"),
            new(options.ModelAlias, "model", created, "llmmesh"),
        ];
        try
        {
            var models = await mesh.Models.ListModelsAsync(new ListModelsRequest(), cancellationToken: cancellationToken);
            data.AddRange(models.Models.Select(m => new ModelResponse(m.Name, "model",
                DateTimeOffset.TryParse(m.Versions.LastOrDefault(v => v.Version == m.DefaultVersion)?.CreatedAt, out var made) ? made.ToUnixTimeSeconds() : 0,
                "llmmesh")));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            // The trainer (which hosts the model list) is down: the default model is still served.
        }
        return new ModelListResponse("list", data.DistinctBy(m => m.Id).ToArray());
    }

    private static async Task<ModelInfo> GetModelInfoAsync(LlmMeshClient mesh, string model, CancellationToken cancellationToken)
    {
        try
        {
            return await mesh.Generator.GetModelInfoAsync(new GetModelInfoRequest { Model = model }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
        {
            throw new OpenAiException(StatusCodes.Status503ServiceUnavailable, "service_unavailable",
                $"the generator has no model to serve yet: {ex.Status.Detail}");
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument && model.Length > 0)
        {
            throw OpenAiException.ModelNotFound(model, ex.Status.Detail);
        }
        catch (RpcException ex)
        {
            throw OpenAiException.FromRpc(ex);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted)
                ?? throw OpenAiException.InvalidRequest("the request body must be a JSON object");
        }
        catch (JsonException ex)
        {
            var field = ex.Path?.TrimStart('$', '.');
            throw OpenAiException.InvalidRequest(
                string.IsNullOrEmpty(field) ? "the request body is not a valid JSON object" : $"{field} has the wrong type or is malformed JSON", field);
        }
    }

    private static async Task HandleAsync(HttpContext context, Func<Task> handle)
    {
        try
        {
            await handle();
        }
        catch (OpenAiException ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            context.Response.StatusCode = ex.StatusCode;
            await WriteJsonAsync(context, ex.ToResponse(), OpenAiJsonContext.Readable.ErrorResponse);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; its generations were cancelled with the request.
        }
    }

    private static Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type) =>
        context.Response.WriteAsJsonAsync(value, type, cancellationToken: context.RequestAborted);

    private static async Task WriteEventAsync(HttpContext context, object value, CancellationToken cancellationToken)
    {
        var body = context.Response.Body;
        await body.WriteAsync(DataPrefix, cancellationToken);
        await JsonSerializer.SerializeAsync(body, value, value.GetType(), OpenAiJsonContext.Readable, cancellationToken);
        await body.WriteAsync(EventEnd, cancellationToken);
        await body.FlushAsync(cancellationToken);
    }
}
