using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using LlmMesh.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// When LlmMesh:ApiKey is set, every request but liveness and readiness must carry it
/// ("authorization: Bearer &lt;key&gt;" or "x-api-key: &lt;key&gt;"): gRPC calls without it end
/// UNAUTHENTICATED, HTTP requests get 401. Unset (local runs) nothing is checked.
/// </summary>
public static class ApiKeyProtection
{
    private const string Required = "a valid API key is required: send 'authorization: Bearer <key>' or 'x-api-key: <key>'";

    public static IApplicationBuilder UseApiKeyProtection(this IApplicationBuilder app, IConfiguration configuration)
    {
        if (configuration[LlmMeshApiKey.ConfigurationKey] is not { Length: > 0 } key)
        {
            return app;
        }
        var expected = Encoding.UTF8.GetBytes(key);
        return app.Use(async (context, next) =>
        {
            if (IsHealth(context.Request.Path) || Presented(context.Request) is { } presented
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), expected))
            {
                await next(context);
                return;
            }
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
            {
                // A trailers-only gRPC response.
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = ((int)StatusCode.Unauthenticated).ToString();
                context.Response.Headers["grpc-message"] = Uri.EscapeDataString(Required);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await context.Response.WriteAsJsonAsync(new { error = new { message = Required, type = "invalid_request_error", param = (string?)null, code = "invalid_api_key" } });
        });
    }

    private static bool IsHealth(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/grpc.health.v1.Health");

    private static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        return request.Headers[LlmMeshApiKey.HeaderName].ToString() is { Length: > 0 } header ? header : null;
    }
}
