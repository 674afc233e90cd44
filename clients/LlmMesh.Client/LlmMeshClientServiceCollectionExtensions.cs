using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class LlmMeshClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LlmMeshClient"/>, an <see cref="IChatClient"/> over the generator and the
    /// typed gRPC clients of every mesh service, found through service discovery. Addresses bind
    /// from the "LlmMesh:Client" configuration section (the API key defaults to the mesh's own,
    /// LlmMesh:ApiKey, for a service of the mesh), then <paramref name="configure"/> applies.
    /// </summary>
    public static IHostApplicationBuilder AddLlmMeshClient(this IHostApplicationBuilder builder, Action<LlmMeshClientOptions>? configure = null)
    {
        builder.Services.AddOptions<LlmMeshClientOptions>()
            .Configure(o => o.ApiKey = builder.Configuration[LlmMeshApiKey.ConfigurationKey])
            .BindConfiguration(LlmMeshClientOptions.Section);
        builder.Services.AddLlmMeshClient(configure);
        return builder;
    }

    /// <inheritdoc cref="AddLlmMeshClient(IHostApplicationBuilder, Action{LlmMeshClientOptions}?)"/>
    public static IServiceCollection AddLlmMeshClient(this IServiceCollection services, Action<LlmMeshClientOptions>? configure = null)
    {
        var options = services.AddOptions<LlmMeshClientOptions>()
            .Validate(o => o.MaxAttempts is >= 1 and <= 5, "LlmMesh:Client:MaxAttempts must be between 1 and 5");
        if (configure is not null)
        {
            options.Configure(configure);
        }
        // Service discovery reads IConfiguration; outside a host (a console tool) there may be none.
        services.TryAddSingleton<IConfiguration>(_ => new ConfigurationBuilder().Build());
        services.AddServiceDiscovery();
        AddMeshClient<Tokenizer.TokenizerClient>(services, o => o.Tokenizer);
        AddMeshClient<Encoder.EncoderClient>(services, o => o.Encoder);
        AddMeshClient<Generator.GeneratorClient>(services, o => o.Generator);
        AddMeshClient<Discriminator.DiscriminatorClient>(services, o => o.Discriminator);
        AddMeshClient<Trainer.TrainerClient>(services, o => o.Trainer);
        AddMeshClient<Models.ModelsClient>(services, o => o.Trainer);
        services.TryAddSingleton<ReplicaBalancers>();
        services.TryAddTransient<LlmMeshClient>();
        services.TryAddTransient<IChatClient>(sp => new LlmMeshChatClient(
            sp.GetRequiredService<LlmMeshClient>(), sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value.Generator));
        return services;
    }

    private static void AddMeshClient<TClient>(IServiceCollection services, Func<LlmMeshClientOptions, Uri> address) where TClient : class =>
        services
            .AddGrpcClient<TClient>((sp, o) => o.Address = address(sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value))
            .ConfigurePrimaryHttpMessageHandler(LlmMeshChannelDefaults.CreateHandler)
            .ConfigureChannel((sp, channel) => LlmMeshChannelDefaults.Apply(channel, sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value.MaxAttempts))
            .AddHttpMessageHandler(sp => new LlmMeshApiKey.Handler(() => sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value.ApiKey))
            .AddReplicaBalancing(sp => address(sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value),
                sp => () => sp.GetRequiredService<IOptions<LlmMeshClientOptions>>().Value.ApiKey)
            .AddServiceDiscovery();

    /// <summary>
    /// Balances the client's calls over every replica of its service (<see cref="ReplicaBalancer"/>)
    /// when its address is a service discovery one; a fixed address is left alone.
    /// </summary>
    public static IHttpClientBuilder AddReplicaBalancing(this IHttpClientBuilder builder, Func<IServiceProvider, Uri> address, Func<IServiceProvider, Func<string?>> apiKey)
    {
        builder.Services.TryAddSingleton<ReplicaBalancers>();
        return builder.AddHttpMessageHandler(sp => sp.GetRequiredService<ReplicaBalancers>().For(address(sp), apiKey(sp)) is { } balancer
            ? new ReplicaBalancingHandler(balancer)
            : new PassThroughHandler());
    }

    private sealed class PassThroughHandler : DelegatingHandler;
}
