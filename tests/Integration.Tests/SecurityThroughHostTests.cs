using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace LlmMesh.Integration.Tests;

[Collection(MeshCollection.Name)]
public sealed class SecurityThroughHostTests(MeshFixture mesh)
{
    [Fact]
    public async Task The_broker_credentials_are_generated_for_this_deployment_and_never_appear_in_any_log()
    {
        var connection = new Uri(await mesh.App.GetConnectionStringAsync("messaging") ?? throw new InvalidOperationException("no broker"));
        var (user, password) = (connection.UserInfo.Split(':')[0], Uri.UnescapeDataString(connection.UserInfo.Split(':')[1]));
        Assert.NotEqual("guest", user);
        Assert.True(password.Length >= 32, $"a {password.Length}-character broker password");

        // Exercise every service (and the broker's clients) first, so that their logs are written.
        await mesh.AraeBundleAsync();
        var lines = mesh.ConsoleLogs.ToArray();
        foreach (var (resource, line) in lines)
        {
            Assert.False(line.Contains(password, StringComparison.Ordinal), $"{resource} logged the broker password: {line.Replace(password, "***")}");
        }
        Assert.Subset(lines.Select(l => l.Resource).ToHashSet(), new HashSet<string> { "messaging", "tokenizer", "trainer", "encoder", "generator", "discriminator", "gateway" });
        Assert.True(lines.Length > 100, $"only {lines.Length} log lines were read");
    }
}
