using Grpc.Core;

namespace LlmMesh.Gateway.OpenAi;

/// <summary>An error as the OpenAI API reports it: an HTTP status and {"error": {message, type, param, code}}.</summary>
public sealed class OpenAiException(int statusCode, string type, string message, string? param = null, string? code = null)
    : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public ErrorResponse ToResponse() => new(new ErrorBody(Message, Type, Param, Code));

    public static OpenAiException InvalidRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", message, param, code);

    public static OpenAiException ModelNotFound(string model, string detail) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error",
            $"The model '{model}' does not exist ({detail}); GET /v1/models lists the models there are",
            "model", "model_not_found");

    /// <summary>What a generator status means to an OpenAI client; its message is passed on as is.</summary>
    public static OpenAiException FromRpc(RpcException ex) => ex.StatusCode switch
    {
        Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.OutOfRange or Grpc.Core.StatusCode.FailedPrecondition =>
            InvalidRequest(ex.Status.Detail),
        Grpc.Core.StatusCode.NotFound => new(StatusCodes.Status404NotFound, "not_found_error", ex.Status.Detail),
        Grpc.Core.StatusCode.ResourceExhausted => new(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"the generator is at capacity, retry later: {ex.Status.Detail}"),
        Grpc.Core.StatusCode.Unavailable => new(StatusCodes.Status503ServiceUnavailable, "service_unavailable",
            $"the generator is not available: {ex.Status.Detail}"),
        Grpc.Core.StatusCode.DeadlineExceeded => new(StatusCodes.Status504GatewayTimeout, "timeout",
            $"the generator did not answer in time: {ex.Status.Detail}"),
        Grpc.Core.StatusCode.Cancelled => new(StatusCodes.Status499ClientClosedRequest, "cancelled", "the request was cancelled"),
        _ => new(StatusCodes.Status500InternalServerError, "server_error", $"the generator failed ({ex.StatusCode}): {ex.Status.Detail}"),
    };
}
