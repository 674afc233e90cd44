using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Tokenizer.Tests;

/// <summary>The optional API key, on a gRPC service in process (every service shares it through ServiceDefaults).</summary>
public sealed class ApiKeyTests
{
    private const string Key = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

    [Fact]
    public async Task With_a_key_configured_calls_need_it_and_health_stays_open()
    {
        using var service = new TokenizerServiceFactory { ApiKey = Key };
        using var keyed = Channel(service, Key);
        await service.WaitUntilReadyAsync(new Contracts.V1.Tokenizer.TokenizerClient(keyed));

        var info = await new Contracts.V1.Tokenizer.TokenizerClient(keyed).GetInfoAsync(new GetInfoRequest());
        Assert.NotEmpty(info.VocabularyVersion);
        using var byHeader = GrpcChannel.ForAddress(service.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = service.Server.CreateHandler() });
        var headers = new Metadata { { LlmMeshApiKey.HeaderName, Key } };
        Assert.NotEmpty((await new Contracts.V1.Tokenizer.TokenizerClient(byHeader).GetInfoAsync(new GetInfoRequest(), headers)).VocabularyVersion);

        foreach (var channel in new[] { service.Channel, Channel(service, "wrong-key") })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                new Contracts.V1.Tokenizer.TokenizerClient(channel).EncodeAsync(new EncodeRequest { Text = "a dog" }).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.Contains("API key", refused.Status.Detail);
        }
        var health = await new Health.HealthClient(service.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var ready = await service.CreateClient().GetAsync("/health");
        Assert.True(ready.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Without_a_key_configured_nothing_is_asked_for()
    {
        using var service = new TokenizerServiceFactory();

        var info = await service.WaitUntilReadyAsync();

        Assert.NotEmpty(info.VocabularyVersion);
        using var anyKey = Channel(service, "whatever");
        Assert.NotEmpty((await new Contracts.V1.Tokenizer.TokenizerClient(anyKey).GetInfoAsync(new GetInfoRequest())).VocabularyVersion);
    }

    private static GrpcChannel Channel(TokenizerServiceFactory service, string key) =>
        GrpcChannel.ForAddress(service.Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = new LlmMeshApiKey.Handler(() => key) { InnerHandler = service.Server.CreateHandler() },
        });
}
