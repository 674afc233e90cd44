using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Integration.Tests;

/// <summary>The AppHost's resource model, built without starting anything.</summary>
public sealed class AppHostModelTests
{
    [Fact]
    public async Task Services_get_their_documented_loopback_grpc_ports_and_wait_for_the_broker()
    {
        await using var app = await BuildAsync("--LlmMesh:Broker:Mode=Executable");
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        var tokenizer = Assert.Single(model.Resources.OfType<ProjectResource>(), r => r.Name == "tokenizer");
        var grpc = Assert.Single(tokenizer.Annotations.OfType<EndpointAnnotation>(), e => e.Name == "grpc");
        Assert.Equal(7101, grpc.Port);
        Assert.Contains(tokenizer.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "messaging");

        var messaging = Assert.Single(model.Resources, r => r.Name == "messaging");
        Assert.IsAssignableFrom<ExecutableResource>(messaging);
        var amqp = Assert.Single(((IResourceWithEndpoints)messaging).Annotations.OfType<EndpointAnnotation>());
        Assert.False(amqp.IsProxied);
    }

    [Fact]
    public async Task Serving_services_run_on_the_backend_their_options_default_to()
    {
        await using var app = await BuildAsync("--LlmMesh:Broker:Mode=Executable");
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();
        var expected = new LlmMesh.Serving.Backends.BackendOptions().Backend.ToString();

        foreach (var (name, section) in new[] { ("encoder", "Encoder"), ("generator", "Generator"), ("discriminator", "Discriminator") })
        {
            var service = Assert.Single(model.Resources.OfType<ProjectResource>(), r => r.Name == name);
            var environment = new EnvironmentCallbackContext(app.Services.GetRequiredService<DistributedApplicationExecutionContext>(), service, []);
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
        await using var app = await BuildAsync("--LlmMesh:Broker:Mode=External", "--ConnectionStrings:messaging=amqp://app:secret@broker.example:5672");
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        var messaging = Assert.IsAssignableFrom<IResourceWithConnectionString>(Assert.Single(model.Resources, r => r.Name == "messaging"));
        Assert.Equal("amqp://app:secret@broker.example:5672", await messaging.GetConnectionStringAsync());
    }

    private static async Task<DistributedApplication> BuildAsync(params string[] arguments)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LlmMesh_AppHost>(
            arguments, (options, _) => options.DisableDashboard = true);
        return await builder.BuildAsync();
    }
}
