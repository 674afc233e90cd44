using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class TracingThroughHostTests(MeshFixture mesh)
{
    [Fact]
    public async Task A_prompted_generation_is_one_trace_across_generator_encoder_and_tokenizer_in_the_dashboard()
    {
        var generator = new Generator.GeneratorClient(mesh.Channel("generator"));
        using (var call = generator.Generate(new GenerateRequest { Prompt = "a dog catching a frisbee", MaxTokens = 8, Seed = 1 }))
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        }

        using var http = mesh.DashboardClient();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        IReadOnlyCollection<string>? services = null;
        while (DateTime.UtcNow < deadline)
        {
            using var traces = await http.GetFromJsonAsync<JsonDocument>("/api/telemetry/traces?resource=generator&limit=500");
            services = GenerationTraces(traces!).FirstOrDefault(s => s.Contains("encoder") && s.Contains("tokenizer"));
            if (services is not null)
            {
                break;
            }
            await Task.Delay(500); // telemetry is exported in batches
        }
        Assert.NotNull(services);
        Assert.Contains("generator", services);
    }

    /// <summary>The services taking part in each trace that holds a text_completion span.</summary>
    private static IEnumerable<IReadOnlyCollection<string>> GenerationTraces(JsonDocument traces)
    {
        var spans = new List<(string TraceId, string Service, string Name)>();
        foreach (var resource in traces.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            var service = resource.GetProperty("resource").GetProperty("attributes").EnumerateArray()
                .First(a => a.GetProperty("key").GetString() == "service.name").GetProperty("value").GetProperty("stringValue").GetString()!;
            foreach (var scope in resource.GetProperty("scopeSpans").EnumerateArray())
            {
                foreach (var span in scope.GetProperty("spans").EnumerateArray())
                {
                    spans.Add((span.GetProperty("traceId").GetString()!, service, span.GetProperty("name").GetString()!));
                }
            }
        }
        return spans.GroupBy(s => s.TraceId)
            .Where(g => g.Any(s => s.Name.StartsWith("text_completion", StringComparison.Ordinal)))
            .Select(g => (IReadOnlyCollection<string>)g.Select(s => s.Service).ToHashSet());
    }
}
