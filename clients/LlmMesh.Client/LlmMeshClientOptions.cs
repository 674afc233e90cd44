namespace LlmMesh.Client;

/// <summary>
/// Where the mesh's services are. The defaults are Aspire service-discovery names (the h2c "grpc"
/// endpoint of each resource); a plain address such as <c>http://127.0.0.1:7103</c> works too.
/// </summary>
public sealed class LlmMeshClientOptions
{
    public const string Section = "LlmMesh:Client";

    public Uri Tokenizer { get; set; } = Discovered("tokenizer");
    public Uri Encoder { get; set; } = Discovered("encoder");
    public Uri Generator { get; set; } = Discovered("generator");
    public Uri Discriminator { get; set; } = Discovered("discriminator");
    public Uri Trainer { get; set; } = Discovered("trainer");

    /// <summary>Attempts of a call that fails UNAVAILABLE before any response arrived (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The mesh's API key, when its services require one (LlmMesh:ApiKey on the services).</summary>
    public string? ApiKey { get; set; }

    /// <summary>The services on <paramref name="host"/> at the AppHost's fixed ports (7101-7105).</summary>
    public static LlmMeshClientOptions ForHost(string host) => new()
    {
        Tokenizer = OnHost(host, 7101),
        Encoder = OnHost(host, 7102),
        Generator = OnHost(host, 7103),
        Discriminator = OnHost(host, 7104),
        Trainer = OnHost(host, 7105),
    };

    public void CopyTo(LlmMeshClientOptions target)
    {
        target.Tokenizer = Tokenizer;
        target.Encoder = Encoder;
        target.Generator = Generator;
        target.Discriminator = Discriminator;
        target.Trainer = Trainer;
        target.MaxAttempts = MaxAttempts;
        target.ApiKey = ApiKey;
    }

    private static Uri Discovered(string resource) => new($"http://_grpc.{resource}");

    private static Uri OnHost(string host, int port) => new UriBuilder("http", host, port).Uri;
}
