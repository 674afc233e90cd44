using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace LlmMesh.Client;

/// <summary>Channel settings every caller of the mesh uses: its message size limits and retries on UNAVAILABLE.</summary>
public static class LlmMeshChannelDefaults
{
    public const int MaxMessageBytes = 8 * 1024 * 1024;

    /// <summary>How long a connection may be quiet before an HTTP/2 ping checks the peer is still there.</summary>
    public static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(30);

    /// <summary>How long a ping may go unanswered before the connection (and its calls) is given up as dead.</summary>
    public static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The HTTP handler for mesh channels: keepalive pings while calls are active (a long, quiet
    /// stream to a peer that vanished fails as UNAVAILABLE instead of hanging), and more than
    /// one HTTP/2 connection when a connection's stream limit is reached.
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        KeepAlivePingDelay = KeepAlivePingDelay,
        KeepAlivePingTimeout = KeepAlivePingTimeout,
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>
    /// Unary calls and streams that have not yet received a response are retried on UNAVAILABLE
    /// (a service restarting or a model loading), with backoff from 200 ms to 2 s.
    /// </summary>
    public static void Apply(GrpcChannelOptions channel, int maxAttempts = 5)
    {
        channel.MaxReceiveMessageSize = MaxMessageBytes;
        channel.MaxSendMessageSize = MaxMessageBytes;
        if (maxAttempts <= 1)
        {
            return;
        }
        channel.ServiceConfig = new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    RetryPolicy = new RetryPolicy
                    {
                        MaxAttempts = maxAttempts,
                        InitialBackoff = TimeSpan.FromMilliseconds(200),
                        MaxBackoff = TimeSpan.FromSeconds(2),
                        BackoffMultiplier = 2,
                        RetryableStatusCodes = { StatusCode.Unavailable },
                    },
                },
            },
        };
    }
}
