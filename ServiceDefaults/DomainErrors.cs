using Grpc.Core;
using Grpc.Core.Interceptors;
using LlmMesh;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The one place where domain errors become gRPC statuses, for every service: a
/// <see cref="MeshException"/> by its kind, an <see cref="ArgumentException"/> as INVALID_ARGUMENT,
/// with the exception's message as the status detail. Other exceptions (an RpcException from a
/// dependency, a cancelled call, a bug) pass through untouched.
/// </summary>
public sealed class DomainErrorInterceptor : Interceptor
{
    public static RpcException? ToRpcException(Exception exception) => exception switch
    {
        MeshException mesh => new RpcException(new Status(ToStatusCode(mesh.Kind), mesh.Message)),
        ArgumentException argument => new RpcException(new Status(StatusCode.InvalidArgument, argument.Message)),
        _ => null,
    };

    public static StatusCode ToStatusCode(MeshErrorKind kind) => kind switch
    {
        MeshErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        MeshErrorKind.NotFound => StatusCode.NotFound,
        MeshErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        MeshErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        MeshErrorKind.CapacityExceeded => StatusCode.ResourceExhausted,
        MeshErrorKind.Unavailable => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ToRpcException(ex) is { } status)
        {
            throw status;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (ToRpcException(ex) is { } status)
        {
            throw status;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ToRpcException(ex) is { } status)
        {
            throw status;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (ToRpcException(ex) is { } status)
        {
            throw status;
        }
    }
}
