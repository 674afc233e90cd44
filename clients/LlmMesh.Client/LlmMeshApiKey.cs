using System.Net.Http.Headers;

namespace LlmMesh.Client;

/// <summary>
/// The mesh's optional API key: sent as "authorization: Bearer &lt;key&gt;" (the OpenAI convention,
/// also accepted as "x-api-key"), checked by every service when LlmMesh:ApiKey is set.
/// </summary>
public static class LlmMeshApiKey
{
    /// <summary>The configuration key of the key every service requires (unset: no key required).</summary>
    public const string ConfigurationKey = "LlmMesh:ApiKey";

    public const string HeaderName = "x-api-key";

    /// <summary>Adds the key to every request (nothing when it is empty).</summary>
    public sealed class Handler(Func<string?> key) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (key() is { Length: > 0 } value && request.Headers.Authorization is null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", value);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
