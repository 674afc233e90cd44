using System.Buffers.Binary;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A request that is not a valid protobuf message (invalid UTF-8 in a string, a truncated field)
/// is the caller's mistake: INVALID_ARGUMENT naming the message type, not grpc-dotnet's UNKNOWN
/// "Exception was thrown by handler".
/// </summary>
public static class MalformedMessages
{
    /// <summary>
    /// Unary and server-streaming requests are read before any interceptor runs: their body is
    /// kept (it is one small message) so that an UNKNOWN answer can be checked against it.
    /// </summary>
    public static IApplicationBuilder UseMalformedMessageStatus(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
        if (method is null || method.Type is not (MethodType.Unary or MethodType.ServerStreaming))
        {
            await next(context);
            return;
        }
        context.Request.EnableBuffering();
        await next(context);
        if (context.Response.HasStarted || context.Response.Headers["grpc-status"] != ((int)StatusCode.Unknown).ToString())
        {
            return;
        }
        context.Request.Body.Position = 0;
        if (await ParseErrorAsync(context.Request.Body, method) is { } error)
        {
            context.Response.Headers["grpc-status"] = ((int)StatusCode.InvalidArgument).ToString();
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(error);
        }
    });

    private static async Task<string?> ParseErrorAsync(Stream body, IMethod method)
    {
        var requestType = method.GetType().GetGenericArguments()[0];
        if (requestType.GetProperty("Parser")?.GetValue(null) is not MessageParser parser)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer);
        var frame = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (frame.Length < 5 || frame[0] != 0)
        {
            return null; // compressed or not a gRPC frame: not ours to judge
        }
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame[1..5]);
        try
        {
            parser.ParseFrom(frame.Slice(5, Math.Min(length, frame.Length - 5)).ToArray());
            return null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return Describe(requestType, ex);
        }
    }

    private static string Describe(Type requestType, InvalidProtocolBufferException ex) =>
        $"the request is not a valid {requestType.Name} message: {ex.Message}";

    /// <summary>Client- and bidirectional-streaming requests are read inside the handler: their parse errors surface here.</summary>
    public sealed class StreamInterceptor : Interceptor
    {
        public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
            IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            try
            {
                return await continuation(requestStream, context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, Describe(typeof(TRequest), ex)));
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
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, Describe(typeof(TRequest), ex)));
            }
        }
    }
}
