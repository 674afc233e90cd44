using Grpc.AspNetCore.Server;
using LlmMesh.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every LlmMesh service shares: OpenTelemetry to the dashboard, liveness and readiness
/// (HTTP and gRPC health v1), gRPC reflection and limits, and service discovery.
/// </summary>
public static class Extensions
{
    public const string LiveTag = "live";
    private const string HealthPath = "/health";
    private const string AlivePath = "/alive";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
        builder.Services.AddGrpcReflection();
        // Explicit message size limits, overridable per service under "Grpc".
        builder.Services.AddOptions<GrpcServiceOptions>()
            .Configure(o =>
            {
                o.MaxReceiveMessageSize = LlmMeshChannelDefaults.MaxMessageBytes;
                o.MaxSendMessageSize = LlmMeshChannelDefaults.MaxMessageBytes;
            })
            .BindConfiguration("Grpc");
        builder.Services.Configure<GrpcServiceOptions>(o =>
        {
            o.Interceptors.Add<DomainErrorInterceptor>();
            o.Interceptors.Add<MalformedMessages.StreamInterceptor>();
        });
        builder.ConfigureHttp2Limits();
        return builder;
    }

    /// <summary>
    /// HTTP/2 on every service: keepalive pings on quiet connections (a long stream to a client
    /// that vanished is noticed and its work stopped) and a bound on concurrent streams per
    /// connection. Kestrel:Limits:Http2:* in configuration overrides each value.
    /// </summary>
    private static void ConfigureHttp2Limits(this IHostApplicationBuilder builder)
    {
        var http2 = builder.Configuration.GetSection("Kestrel:Limits:Http2");
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel =>
        {
            kestrel.Limits.Http2.KeepAlivePingDelay = http2.GetValue("KeepAlivePingDelay", LlmMeshChannelDefaults.KeepAlivePingDelay);
            kestrel.Limits.Http2.KeepAlivePingTimeout = http2.GetValue("KeepAlivePingTimeout", LlmMeshChannelDefaults.KeepAlivePingTimeout);
            kestrel.Limits.Http2.MaxStreamsPerConnection = http2.GetValue("MaxStreamsPerConnection", 256);
        });
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddAttributes([new("llmmesh.instance", LlmMesh.MeshInstance.Resolve(builder.Configuration[LlmMesh.MeshInstance.ConfigurationKey]))]))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("MassTransit")
                .AddMeter("LlmMesh.*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource("MassTransit")
                .AddSource("LlmMesh.*")
                .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments(HealthPath)
                    && !context.Request.Path.StartsWithSegments(AlivePath)
                    && !context.Request.Path.StartsWithSegments("/grpc.health.v1.Health"))
                .AddGrpcClientInstrumentation(o => o.SuppressDownstreamInstrumentation = true)
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // "Not ready yet" is normal while a model loads; health is visible on the endpoints and the
        // dashboard, so failed checks are not logged as errors every poll.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);
        // gRPC health v1 reports the same checks as /health.
        builder.Services.AddGrpcHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>Liveness at /alive, readiness at /health and gRPC health v1, reflection: in every environment.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseInstanceHeader(app.Configuration);
        app.UseApiKeyProtection(app.Configuration);
        app.UseMalformedMessageStatus();
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = HealthResponses.WriteAsync });
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }
}
