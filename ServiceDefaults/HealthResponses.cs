using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The body of /health: "Healthy", or the status followed by what each failing check said (the
/// Aspire dashboard shows it, so a service waiting for its first model says what it waits for).
/// </summary>
public static class HealthResponses
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(Describe(report), context.RequestAborted);
    }

    public static string Describe(HealthReport report)
    {
        var text = new StringBuilder(report.Status.ToString());
        var failing = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).ToArray();
        for (var i = 0; i < failing.Length; i++)
        {
            text.Append(i == 0 ? ": " : "; ").Append(failing[i].Key).Append(": ").Append(failing[i].Value.Description ?? failing[i].Value.Status.ToString());
        }
        return text.ToString();
    }
}
