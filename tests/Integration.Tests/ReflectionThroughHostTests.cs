using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting.Testing;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>A generic gRPC client (buf curl, as in the README) works from server reflection alone, without our .proto files.</summary>
[Collection(MeshCollection.Name)]
public sealed class ReflectionThroughHostTests(MeshFixture mesh)
{
    private static readonly string Buf = Path.Combine(RepositoryPaths.Root, "tests", "interop", "node_modules", ".bin", "buf");

    [Theory]
    [InlineData("tokenizer", "llmmesh.v1.Tokenizer/Encode")]
    [InlineData("encoder", "llmmesh.v1.Encoder/Encode")]
    [InlineData("generator", "llmmesh.v1.Generator/Generate")]
    [InlineData("discriminator", "llmmesh.v1.Discriminator/ScoreBatch")]
    [InlineData("trainer", "llmmesh.v1.Trainer/StartRun")]
    public async Task Every_service_lists_its_methods_through_reflection(string service, string method)
    {
        var methods = await BufCurlAsync("--list-methods", mesh.App.GetEndpoint(service, "grpc").ToString().TrimEnd('/'));
        Assert.Contains(method, methods.Split('\n'));
    }

    [Fact]
    public async Task Buf_curl_streams_a_generation_and_calls_the_trainer_without_proto_files()
    {
        var generator = mesh.App.GetEndpoint("generator", "grpc").ToString().TrimEnd('/');
        var messages = (await BufCurlAsync("-d", """{"max_tokens": 6, "seed": 3}""", $"{generator}/llmmesh.v1.Generator/Generate"))
            .Split("\n{", StringSplitOptions.RemoveEmptyEntries).Select((m, i) => JsonDocument.Parse(i == 0 ? m : "{" + m)).ToArray();
        Assert.True(messages[^1].RootElement.TryGetProperty("final", out var final), "the stream ends with its final message");
        Assert.Equal("3", final.GetProperty("seed").GetString());

        var trainer = mesh.App.GetEndpoint("trainer", "grpc").ToString().TrimEnd('/');
        using var runs = JsonDocument.Parse(await BufCurlAsync("-d", """{"limit": 100}""", $"{trainer}/llmmesh.v1.Trainer/ListRuns"));
        // Proto3 JSON leaves out empty fields: runs that published nothing have no bundleVersion.
        Assert.Contains(runs.RootElement.GetProperty("runs").EnumerateArray(),
            r => r.TryGetProperty("bundleVersion", out var bundle) && bundle.GetString() == mesh.FirstBundle);
    }

    private static async Task<string> BufCurlAsync(params string[] args)
    {
        Assert.True(File.Exists(Buf), "buf is missing: run scripts/test.sh (or npm ci in tests/interop)");
        var start = new ProcessStartInfo(Buf) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "curl", "--protocol", "grpc", "--http2-prior-knowledge" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }
        using var buf = Process.Start(start)!;
        var output = buf.StandardOutput.ReadToEndAsync();
        var error = buf.StandardError.ReadToEndAsync();
        await buf.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.True(buf.ExitCode == 0, $"buf curl {string.Join(' ', args)} exited {buf.ExitCode}: {await error}");
        return await output;
    }
}
