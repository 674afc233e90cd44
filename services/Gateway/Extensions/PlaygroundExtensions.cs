using Microsoft.Net.Http.Headers;

namespace LlmMesh.Gateway.Extensions;

public static class PlaygroundExtensions
{
    /// <summary>
    /// The playground page and its assets (wwwroot), served ahead of the API-key check: the page
    /// holds no data, and the calls it makes carry the key. Its content security policy lets it
    /// reach nothing but this gateway.
    /// </summary>
    public static WebApplication UsePlayground(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers[HeaderNames.ContentSecurityPolicy] =
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
                headers[HeaderNames.XContentTypeOptions] = "nosniff";
                headers[HeaderNames.CacheControl] = "no-cache";
            },
        });
        return app;
    }
}
