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

    /// <summary>The models the (stand-in) Models service lists; null = the service is unreachable.</summary>
    public ListModelsResponse? Models { get; set; } = new()
    {
        Models = { new ModelDescription { Name = "coco", DefaultVersion = "20261128T000000Z-test" }, new ModelDescription { Name = "zh", DefaultVersion = "20261129T000000Z-zh" } },
    };

    /// <summary>The API key the gateway requires (LlmMesh:ApiKey); none by default.</summary>
    public string? ApiKey { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (ApiKey is not null)
        {
            builder.UseSetting("LlmMesh:ApiKey", ApiKey);
        }
        builder.ConfigureServices(services => services
            .AddTransient<Generator.GeneratorClient>(_ => Generator)
            .AddTransient<Models.ModelsClient>(_ => new ScriptedModelsClient(() => Models)));
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

    private sealed class ScriptedModelsClient(Func<ListModelsResponse?> models) : Models.ModelsClient
    {
        public override Grpc.Core.AsyncUnaryCall<ListModelsResponse> ListModelsAsync(ListModelsRequest request, Grpc.Core.CallOptions options) =>
            new(models() is { } listed ? Task.FromResult(listed)
                : Task.FromException<ListModelsResponse>(new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "the trainer is down"))),
                Task.FromResult(new Grpc.Core.Metadata()), () => Grpc.Core.Status.DefaultSuccess, () => [], () => { });
    }
}
