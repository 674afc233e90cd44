using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// The AppHost's resource model, read from the builder: a built testing app starts itself when it
/// is disposed (DCP's start and cleanup retries took 30 s per test), so these tests never build one.
/// </summary>
public sealed class AppHostModelTests
{
    [Fact]
    public async Task Services_get_their_documented_loopback_grpc_ports_and_wait_for_the_broker()
    {
        await using var builder = await CreateAsync("--LlmMesh:Broker:Mode=Executable");

        var tokenizer = Assert.Single(builder.Resources.OfType<ProjectResource>(), r => r.Name == "tokenizer");
        var grpc = Assert.Single(tokenizer.Annotations.OfType<EndpointAnnotation>(), e => e.Name == "grpc");
        Assert.Equal(7101, grpc.Port);
        Assert.Contains(tokenizer.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "messaging");

        var messaging = Assert.Single(builder.Resources, r => r.Name == "messaging");
        Assert.IsAssignableFrom<ExecutableResource>(messaging);
        var amqp = Assert.Single(((IResourceWithEndpoints)messaging).Annotations.OfType<EndpointAnnotation>());
        Assert.False(amqp.IsProxied);
    }

    [Fact]
    public async Task Serving_services_run_on_the_backend_their_options_default_to()
    {
        await using var builder = await CreateAsync("--LlmMesh:Broker:Mode=Executable");
        var expected = new LlmMesh.Serving.Backends.BackendOptions().Backend.ToString();

        foreach (var (name, section) in new[] { ("encoder", "Encoder"), ("generator", "Generator"), ("discriminator", "Discriminator") })
        {
            var service = Assert.Single(builder.Resources.OfType<ProjectResource>(), r => r.Name == name);
            var environment = new EnvironmentCallbackContext(builder.ExecutionContext, service, []);
            foreach (var callback in service.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(environment);
            }
            Assert.Equal(expected, environment.EnvironmentVariables[$"{section}__Backend"]);
        }
    }

    [Fact]
    public async Task An_external_broker_is_taken_from_the_connection_string()
    {
        await using var builder = await CreateAsync("--LlmMesh:Broker:Mode=External", "--ConnectionStrings:messaging=amqp://app:secret@broker.example:5672");

        var messaging = Assert.IsAssignableFrom<IResourceWithConnectionString>(Assert.Single(builder.Resources, r => r.Name == "messaging"));
        Assert.Equal("amqp://app:secret@broker.example:5672", await messaging.GetConnectionStringAsync());
    }

    private static Task<IDistributedApplicationTestingBuilder> CreateAsync(params string[] arguments) =>
        DistributedApplicationTestingBuilder.CreateAsync<Projects.LlmMesh_AppHost>(arguments, (options, _) => options.DisableDashboard = true);
}
