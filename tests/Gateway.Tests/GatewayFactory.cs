using System.Net.Http.Json;
using System.Text.Json;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Gateway.Tests;

/// <summary>The gateway in process, in front of a scripted generator.</summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    public ScriptedGeneratorClient Generator { get; } = new();

    /// <summary>The API key the gateway requires (LlmMesh:ApiKey); none by default.</summary>
    public string? ApiKey { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (ApiKey is not null)
        {
            builder.UseSetting("LlmMesh:ApiKey", ApiKey);
        }
        builder.ConfigureServices(services => services.AddTransient<Generator.GeneratorClient>(_ => Generator));
    }

    public async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string path, string json)
    {
        var response = await CreateClient().PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length > 0 && !text.StartsWith("data:", StringComparison.Ordinal) ? JsonSerializer.Deserialize<JsonElement>(text) : default);
    }

    /// <summary>The events of a server-sent event stream, "[DONE]" included.</summary>
    public async Task<(HttpResponseMessage Response, IReadOnlyList<string> Events)> StreamAsync(string path, string json)
    {
        var response = await CreateClient().PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e["data: ".Length..] : throw new InvalidOperationException($"not an SSE event: {e}"))
            .ToList();
        return (response, events);
    }

    public Task<JsonElement> GetJsonAsync(string path) => CreateClient().GetFromJsonAsync<JsonElement>(path);
}
