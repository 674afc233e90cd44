using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

public static class MessagingExtensions
{
    public const string ConnectionName = "messaging";

    /// <summary>
    /// MassTransit on the RabbitMQ broker named by the "messaging" connection string
    /// (amqp://user:password@host:port). A broker outage degrades health but never makes a
    /// service unready: serving does not depend on the broker.
    /// </summary>
    public static IHostApplicationBuilder AddMessaging(
        this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? configure = null)
    {
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            bus.ConfigureHealthCheckOptions(o =>
            {
                o.Name = "messaging";
                o.MinimalFailureStatus = HealthStatus.Degraded;
            });
            configure?.Invoke(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var connectionString = context.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionName)
                    ?? throw new InvalidOperationException(
                        $"ConnectionStrings:{ConnectionName} is not set: run under the AppHost or give the broker as amqp://user:password@host:port");
                rabbit.Host(new Uri(connectionString));
                rabbit.UseConsumeFilter(typeof(DuplicateEventFilter<>), context);
                rabbit.ConfigureEndpoints(context);
            });
        });
        builder.Services.AddSingleton<ConsumedMessageIds>();
        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section);
        builder.Services.AddSingleton(sp => new EventOutbox(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<OutboxOptions>>().Value.OutboxDirectory, sp.GetRequiredService<ILogger<EventOutbox>>()));
        builder.Services.AddSingleton<EventPublisher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventPublisher>());
        return builder;
    }
}

/// <summary>Where a service keeps the events it has not yet handed to the broker (in memory when unset).</summary>
public sealed class OutboxOptions
{
    public const string Section = "Messaging";

    public string? OutboxDirectory { get; set; }
}
