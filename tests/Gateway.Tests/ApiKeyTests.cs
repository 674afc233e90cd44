using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using LlmMesh.Client;

namespace LlmMesh.Gateway.Tests;

/// <summary>The gateway (the endpoint most likely to be exposed beyond the host) with and without an API key.</summary>
public sealed class ApiKeyTests
{
    private const string Key = "sk-mesh-0123456789abcdefghijklmnopqrstuv";

    [Fact]
    public async Task With_a_key_configured_requests_need_it_in_either_header_and_health_stays_open()
    {
        using var gateway = new GatewayFactory { ApiKey = Key };
        var client = gateway.CreateClient();

        foreach (var presented in new Action<HttpRequestMessage>[] { _ => { }, r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong") })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            presented(request);
            var refused = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var error = JsonSerializer.Deserialize<JsonElement>(await refused.Content.ReadAsStringAsync()).GetProperty("error");
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
            Assert.Contains("API key", error.GetProperty("message").GetString());
        }

        var bearer = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Key) } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(bearer)).StatusCode);
        var header = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { LlmMeshApiKey.HeaderName, Key } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(header)).StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task Without_a_key_configured_requests_need_none()
    {
        using var gateway = new GatewayFactory();

        Assert.Equal(HttpStatusCode.OK, (await gateway.CreateClient().GetAsync("/v1/models")).StatusCode);
    }
}
