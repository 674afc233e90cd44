using System.Net.Http.Json;
using System.Text.Json;

namespace LlmMesh.Integration.Tests;

/// <summary>What the generator's text_completion span (in the dashboard) says about one generation.</summary>
public sealed record GenerationSpan(string FinishReason, long OutputTokens)
{
    /// <summary>Waits for the span of the generation with this seed (telemetry is exported in batches).</summary>
    public static async Task<GenerationSpan> FindAsync(MeshFixture mesh, ulong seed, TimeSpan timeout)
    {
        using var http = mesh.DashboardClient();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var traces = await http.GetFromJsonAsync<JsonDocument>("/api/telemetry/traces?resource=generator&limit=1000");
            var span = Spans(traces!).FirstOrDefault(s => Attribute(s, "gen_ai.request.seed") == seed.ToString());
            if (span.ValueKind != JsonValueKind.Undefined && Attribute(span, "gen_ai.response.finish_reasons") is { } reasons)
            {
                return new GenerationSpan(reasons, long.Parse(Attribute(span, "gen_ai.usage.output_tokens") ?? "0"));
            }
            Assert.True(DateTime.UtcNow < deadline, $"no generator span for seed {seed} within {timeout}");
            await Task.Delay(500);
        }
    }

    private static IEnumerable<JsonElement> Spans(JsonDocument traces) =>
        from resource in traces.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray()
        from scope in resource.GetProperty("scopeSpans").EnumerateArray()
        from span in scope.GetProperty("spans").EnumerateArray()
        where span.GetProperty("name").GetString()!.StartsWith("text_completion", StringComparison.Ordinal)
        select span;

    /// <summary>An attribute's value as text (an array's first element).</summary>
    private static string? Attribute(JsonElement span, string key)
    {
        if (!span.TryGetProperty("attributes", out var attributes))
        {
            return null;
        }
        foreach (var attribute in attributes.EnumerateArray())
        {
            if (attribute.GetProperty("key").GetString() != key)
            {
                continue;
            }
            var value = attribute.GetProperty("value");
            foreach (var property in value.EnumerateObject())
            {
                return property.Name switch
                {
                    "arrayValue" => property.Value.GetProperty("values")[0].EnumerateObject().First().Value.ToString(),
                    _ => property.Value.ToString(),
                };
            }
        }
        return null;
    }
}
