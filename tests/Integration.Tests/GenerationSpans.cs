using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace LlmMesh.Integration.Tests;

/// <summary>What the generator's text_completion span (in the dashboard) says about one generation.</summary>
public sealed record GenerationSpan(string FinishReason, long OutputTokens)
{
    /// <summary>A new trace for a test's calls (clients propagate it): its id finds their spans in the dashboard.</summary>
    public static Activity StartTrace(string name)
    {
        // Sampled: the services' parent-based samplers record what a sampled parent asks for.
        var activity = new Activity(name).SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        return activity.Start();
    }

    /// <summary>
    /// Waits for the generator's span in the trace <paramref name="traceId"/> (the test's own
    /// activity, propagated by its client; telemetry is exported in batches).
    /// </summary>
    public static async Task<GenerationSpan> FindAsync(MeshFixture mesh, ActivityTraceId traceId, TimeSpan timeout)
    {
        using var http = mesh.DashboardClient();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var response = await http.GetAsync($"/api/telemetry/traces/{traceId.ToHexString()}");
            using var trace = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonDocument>() : null;
            var span = trace is null ? default : Spans(trace).FirstOrDefault();
            if (span.ValueKind != JsonValueKind.Undefined && Attribute(span, "gen_ai.response.finish_reasons") is { } reasons)
            {
                // An array attribute reaches the dashboard as its JSON text.
                var reason = reasons.StartsWith('[') ? JsonSerializer.Deserialize<string[]>(reasons)![0] : reasons;
                return new GenerationSpan(reason, long.Parse(Attribute(span, "gen_ai.usage.output_tokens") ?? "0"));
            }
            if (DateTime.UtcNow >= deadline)
            {
                using var recent = await http.GetFromJsonAsync<JsonDocument>("/api/telemetry/traces?resource=generator&limit=20");
                var seen = string.Join("; ", Spans(recent!).Select(s => $"{s.GetProperty("traceId").GetString()} {Attribute(s, "gen_ai.response.finish_reasons")}"));
                Assert.Fail($"no text_completion span in trace {traceId} within {timeout}; trace: {trace?.RootElement.ToString()[..Math.Min(2000, trace.RootElement.ToString().Length)]}; recent: {seen}");
            }
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
