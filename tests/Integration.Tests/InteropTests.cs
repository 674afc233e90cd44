using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting.Testing;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>A non-.NET client (grpc-js + proto-loader reading protos/) calls the tokenizer through the host.</summary>
[Collection(MeshCollection.Name)]
public sealed class InteropTests(MeshFixture mesh)
{
    [Fact]
    public async Task A_grpc_js_client_reading_our_protos_calls_Encode_and_DecodeStream()
    {
        var interop = Path.Combine(RepositoryPaths.Root, "tests", "interop");
        Assert.True(Directory.Exists(Path.Combine(interop, "node_modules", "@grpc", "grpc-js")),
            "tests/interop/node_modules is missing: run scripts/test.sh (or npm ci in tests/interop)");
        var endpoint = mesh.App.GetEndpoint("tokenizer", "grpc");
        const string text = "two cats 🐈‍⬛ sleep on a 沙发, naïvely.";

        var start = new ProcessStartInfo("node") { WorkingDirectory = interop, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("tokenizer-client.mjs");
        start.ArgumentList.Add($"{endpoint.Host}:{endpoint.Port}");
        start.ArgumentList.Add(text);
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.True(node.ExitCode == 0, $"node exited with {node.ExitCode}: {await stderr}");

        using var result = JsonDocument.Parse(await stdout);
        var ids = result.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var deltas = result.RootElement.GetProperty("deltas").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, deltas.Length);
        Assert.Equal(text, string.Concat(deltas));
        Assert.Equal(text, result.RootElement.GetProperty("decoded").GetString());
        var badId = result.RootElement.GetProperty("badId");
        Assert.Equal(3, badId.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Contains("ids[2] = 1000000", badId.GetProperty("details").GetString());
    }
}
