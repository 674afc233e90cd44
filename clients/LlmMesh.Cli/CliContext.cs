using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using LlmMesh.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Cli;

/// <summary>What a command runs with: where the mesh is, a client for it, and where to write.</summary>
public sealed class CliContext : IDisposable
{
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private readonly ServiceProvider _services;

    public CliContext(LlmMeshClientOptions addresses, bool json, TextWriter output, TextWriter error, bool interactive = false)
    {
        Addresses = addresses;
        Json = json;
        Output = output;
        Error = error;
        Interactive = interactive;
        _services = new ServiceCollection()
            .AddLlmMeshClient(addresses.CopyTo)
            .BuildServiceProvider();
        Mesh = _services.GetRequiredService<LlmMeshClient>();
    }

    public LlmMeshClientOptions Addresses { get; }

    /// <summary>Machine output: one JSON document per result, one JSON line per stream message.</summary>
    public bool Json { get; }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>Error output is a terminal: progress is redrawn in place.</summary>
    public bool Interactive { get; }

    public LlmMeshClient Mesh { get; }

    /// <summary>Runs a call to <paramref name="service"/>, turning its failures into messages a user can act on.</summary>
    public async Task<T> CallAsync<T>(string service, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            throw CliErrors.Describe(ex, service, AddressOf(service));
        }
    }

    public Task CallAsync(string service, Func<Task> call) => CallAsync(service, async () =>
    {
        await call();
        return true;
    });

    public Uri AddressOf(string service) => service switch
    {
        "tokenizer" => Addresses.Tokenizer,
        "encoder" => Addresses.Encoder,
        "generator" => Addresses.Generator,
        "discriminator" => Addresses.Discriminator,
        "trainer" => Addresses.Trainer,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "not a mesh service"),
    };

    /// <summary>A contract message as one line of canonical proto3 JSON.</summary>
    public void WriteJsonLine(IMessage message) => Output.WriteLine(ProtoJson.Format(message));

    public void WriteJson<T>(T value) => Output.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public void Dispose() => _services.Dispose();
}
