using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.AspNetCore.Server;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>How a service depends on another mesh service: its readiness and the errors its callers see.</summary>
public static class MeshDependencies
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Readiness follows <paramref name="serviceName"/>'s gRPC health: <paramref name="failureStatus"/>
    /// (Unhealthy: not ready; Degraded: ready for what works without it) while it is down.
    /// </summary>
    public static IHostApplicationBuilder AddMeshDependencyHealthCheck(
        this IHostApplicationBuilder builder, string serviceName, HealthStatus failureStatus, string withoutIt)
    {
        var clientName = $"{serviceName}-health";
        builder.AddMeshGrpcClient<Health.HealthClient>(serviceName, clientName);
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(serviceName,
            sp => new DependencyHealthCheck(sp.GetRequiredService<GrpcClientFactory>().CreateClient<Health.HealthClient>(clientName), serviceName, withoutIt),
            failureStatus, tags: null));
        return builder;
    }

    private sealed class DependencyHealthCheck(Health.HealthClient health, string serviceName, string withoutIt) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + ProbeTimeout, cancellationToken: cancellationToken);
                return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving
                    ? HealthCheckResult.Healthy($"the {serviceName} is serving")
                    : new HealthCheckResult(context.Registration.FailureStatus, $"the {serviceName} is not ready: {withoutIt}");
            }
            catch (RpcException ex)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"the {serviceName} is unavailable ({ex.Status.Detail}): {withoutIt}");
            }
        }
    }
}

/// <summary>
/// Names the dependency in the status a caller sees when it cannot be reached, instead of the
/// transport's words ("Error starting gRPC call..."): "the tokenizer is unavailable: ...". Unary
/// calls get at most <paramref name="callTimeout"/> unless the incoming call's deadline is
/// shorter, so a dependency that accepts connections but never answers (a proxy in front of a
/// stopped service) fails the call as UNAVAILABLE instead of holding it until the caller's deadline.
/// </summary>
public sealed class DependencyStatusInterceptor(string serviceName, TimeSpan callTimeout, IHttpContextAccessor? incoming) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var timeout = DateTime.UtcNow + callTimeout;
        var callerDeadline = incoming?.HttpContext?.Features.Get<IServerCallContextFeature>()?.ServerCallContext.Deadline ?? DateTime.MaxValue;
        var bounded = timeout < callerDeadline && timeout < (context.Options.Deadline ?? DateTime.MaxValue);
        if (bounded)
        {
            context = new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(timeout));
        }
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Named(call.ResponseAsync, bounded), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncServerStreamingCall<TResponse>(new NamedReader<TResponse>(call.ResponseStream, this),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(context);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, new NamedReader<TResponse>(call.ResponseStream, this),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private async Task<T> Named<T>(Task<T> response, bool bounded)
    {
        try
        {
            return await response;
        }
        catch (RpcException ex) when (bounded && ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"the {serviceName} is unavailable: it did not answer within {callTimeout.TotalSeconds:0.#} s"), NoRetry());
        }
        catch (RpcException ex) when (Rename(ex) is { } renamed)
        {
            throw renamed;
        }
    }

    private RpcException? Rename(RpcException ex) =>
        ex.StatusCode == StatusCode.Unavailable && !ex.Status.Detail.StartsWith($"the {serviceName}", StringComparison.Ordinal)
            ? new RpcException(new Status(StatusCode.Unavailable, $"the {serviceName} is unavailable: {ex.Status.Detail}", ex.Status.DebugException), NoRetry())
            : null;

    /// <summary>
    /// This call already retried the dependency; the caller's channel must not retry the whole
    /// call again (a negative pushback stops gRPC retries) or each hop multiplies the wait.
    /// </summary>
    private static Metadata NoRetry() => new() { { "grpc-retry-pushback-ms", "-1" } };

    private sealed class NamedReader<T>(IAsyncStreamReader<T> inner, DependencyStatusInterceptor owner) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (RpcException ex) when (owner.Rename(ex) is { } renamed)
            {
                throw renamed;
            }
        }
    }
}
