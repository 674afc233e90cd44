using LlmMesh.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmMesh.Gateway.Tests;

/// <summary>The HTTP/2 limits every service gets from ServiceDefaults (the gateway here; the gRPC services share them).</summary>
public sealed class Http2LimitsTests
{
    [Fact]
    public void Services_ping_quiet_connections_and_bound_streams_per_connection_like_the_mesh_clients()
    {
        using var gateway = new GatewayFactory();

        var http2 = gateway.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.Http2;

        Assert.Equal(LlmMeshChannelDefaults.KeepAlivePingDelay, http2.KeepAlivePingDelay);
        Assert.Equal(LlmMeshChannelDefaults.KeepAlivePingTimeout, http2.KeepAlivePingTimeout);
        Assert.Equal(256, http2.MaxStreamsPerConnection);
        using var client = LlmMeshChannelDefaults.CreateHandler();
        Assert.Equal(TimeSpan.FromSeconds(30), client.KeepAlivePingDelay);
        Assert.Equal(HttpKeepAlivePingPolicy.WithActiveRequests, client.KeepAlivePingPolicy);
        Assert.True(client.EnableMultipleHttp2Connections);
    }
}
