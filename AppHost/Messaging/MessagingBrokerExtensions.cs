using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;

namespace LlmMesh.AppHost.Messaging;

public enum BrokerMode
{
    /// <summary>The RabbitMQ container when a container runtime answers, else the private executable.</summary>
    Auto,
    Container,
    Executable,
    /// <summary>An existing broker given as ConnectionStrings:messaging.</summary>
    External,
}

public static class MessagingBrokerExtensions
{
    /// <summary>
    /// Adds the RabbitMQ broker the mesh uses for events, chosen by LlmMesh:Broker:Mode. Credentials
    /// are Aspire parameters (messaging-username, messaging-password), generated when not set.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddMessagingBroker(
        this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var mode = builder.Configuration.GetValue("LlmMesh:Broker:Mode", BrokerMode.Auto);
        if (mode == BrokerMode.External)
        {
            return builder.AddConnectionString(name);
        }

        var userName = builder.AddParameter($"{name}-username",
            new GenerateParameterDefault { MinLength = 12, Upper = false, Numeric = false, Special = false }, secret: false);
        var password = builder.AddParameter($"{name}-password",
            new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);

        if (mode == BrokerMode.Container || (mode == BrokerMode.Auto && ContainerRuntimeAnswers()))
        {
            return builder.AddRabbitMQ(name, userName, password);
        }
        return builder.AddPrivateRabbitMq(name, userName.Resource, password.Resource, dataDirectory);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddPrivateRabbitMq(
        this IDistributedApplicationBuilder builder, string name, ParameterResource userName, ParameterResource password, string dataDirectory)
    {
        var script = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "scripts", "rabbitmq-private.sh"));
        // One private broker folder per AppHost run, removed when the AppHost stops.
        var brokerDirectory = Path.Combine(dataDirectory, "broker", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        var amqpPort = builder.Configuration.GetValue<int?>("LlmMesh:Broker:Port") ?? FreeLoopbackPort();

        var broker = new PrivateRabbitMqResource(name, script, Path.GetDirectoryName(script)!, userName, password);
        var healthCheckKey = $"{name}-amqp";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new AmqpHealthCheck(broker), failureStatus: null, tags: null, timeout: TimeSpan.FromSeconds(20)));
        builder.Services.AddHostedService(_ => new DirectoryCleanup(brokerDirectory));

        return builder.AddResource(broker)
            // Not proxied: a proxy would accept connections before the broker listens.
            .WithEndpoint(port: amqpPort, targetPort: amqpPort, name: PrivateRabbitMqResource.AmqpEndpointName,
                scheme: "amqp", isProxied: false)
            .WithEnvironment("BROKER_DIR", brokerDirectory)
            .WithEnvironment("BROKER_PORT", amqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("BROKER_EPMD_PORT", FreeLoopbackPort().ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("BROKER_DIST_PORT", FreeLoopbackPort().ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("BROKER_USER", userName)
            .WithEnvironment("BROKER_PASSWORD", password)
            .WithHealthCheck(healthCheckKey)
            .WithIconName("Mail");
    }

    private static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, ParameterResource parameter)
        where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context => context.EnvironmentVariables[name] = parameter);

    private static bool ContainerRuntimeAnswers()
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("docker", "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (probe is null)
            {
                return false;
            }
            if (!probe.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                probe.Kill(entireProcessTree: true);
                return false;
            }
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no docker client at all
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Healthy once the broker accepts an authenticated AMQP connection; polls briefly so readiness is seen early.</summary>
    private sealed class AmqpHealthCheck(PrivateRabbitMqResource broker) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var connectionString = await broker.ConnectionStringExpression.GetValueAsync(cancellationToken);
            var factory = new ConnectionFactory { Uri = new Uri(connectionString!), RequestedConnectionTimeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (true)
            {
                try
                {
                    await using var connection = await factory.CreateConnectionAsync(cancellationToken);
                    return HealthCheckResult.Healthy();
                }
                catch (Exception ex) when (ex is not OperationCanceledException && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    return HealthCheckResult.Unhealthy("the broker does not accept AMQP connections yet", ex);
                }
            }
        }
    }

    private sealed class DirectoryCleanup(string directory) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
                // The broker may still be flushing; a later run's folder is separate anyway.
            }
            return Task.CompletedTask;
        }
    }
}
