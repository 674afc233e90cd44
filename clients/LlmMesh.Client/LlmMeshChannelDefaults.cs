using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace LlmMesh.Client;

/// <summary>Channel settings every caller of the mesh uses: its message size limits and retries on UNAVAILABLE.</summary>
public static class LlmMeshChannelDefaults
{
    public const int MaxMessageBytes = 8 * 1024 * 1024;

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
