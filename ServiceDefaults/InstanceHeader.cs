using LlmMesh;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

public static class InstanceHeader
{
    /// <summary>Names this replica (<see cref="MeshInstance"/>) on every gRPC response, in its initial metadata.</summary>
    public static IApplicationBuilder UseInstanceHeader(this IApplicationBuilder app, IConfiguration configuration)
    {
        var instance = MeshInstance.Resolve(configuration[MeshInstance.ConfigurationKey]);
        return app.Use((context, next) =>
        {
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
            {
                context.Response.Headers[MeshInstance.HeaderName] = instance;
            }
            return next(context);
        });
    }
}
