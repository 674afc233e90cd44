using System.Diagnostics;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>The CLI installs as .NET users expect (a tool package), and the client library packs with its contracts.</summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("llmmesh-tool-").FullName;

    [Fact]
    public async Task The_cli_packs_as_a_dotnet_tool_that_installs_and_runs_and_the_client_library_packs_too()
    {
        // The configuration the tests were built in, so that packing reuses that build.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        var packages = Path.Combine(_work, "packages");
        foreach (var project in new[] { "clients/LlmMesh.Cli", "clients/LlmMesh.Client", "protos/LlmMesh.Contracts.csproj" })
        {
            await RunAsync("dotnet", ["pack", Path.Combine(RepositoryPaths.Root, project), "--no-build", "-c", configuration, "-o", packages, "-nologo"]);
        }
        Assert.Contains(Directory.GetFiles(packages), f => Path.GetFileName(f).StartsWith("llmmesh.", StringComparison.Ordinal));
        Assert.Contains(Directory.GetFiles(packages), f => Path.GetFileName(f).StartsWith("LlmMesh.Client.", StringComparison.Ordinal));
        Assert.Contains(Directory.GetFiles(packages), f => Path.GetFileName(f).StartsWith("LlmMesh.Contracts.", StringComparison.Ordinal));

        var tools = Path.Combine(_work, "tools");
        await RunAsync("dotnet", ["tool", "install", "llmmesh", "--tool-path", tools, "--add-source", packages]);
        var help = await RunAsync(Path.Combine(tools, "llmmesh"), ["--help"]);

        foreach (var command in new[] { "generate", "train", "corpus", "models", "score", "encode" })
        {
            Assert.Contains(command, help);
        }
    }

    private static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryPaths.Root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{fileName} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}: {await output}{await error}");
        return await output;
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}
