using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.Tokenizer.Tests;

/// <summary>The tokenizer service in-process, with its own model store and an in-memory bus.</summary>
public sealed class TokenizerServiceFactory : WebApplicationFactory<Program>
{
    public const int MaxTextBytes = 4096;
    public const int MaxReceiveMessageSize = 256 * 1024;
    public const int MaxTrainingCorpusBytes = 1024 * 1024;
    private readonly bool _ownsStore;
    private GrpcChannel? _channel;

    public TokenizerServiceFactory() : this(Directory.CreateTempSubdirectory("llmmesh-tokenizer-").FullName, TestData.CocoCorpus, ownsStore: true)
    {
    }

    /// <summary>A service over an existing store (for restarts) or with another corpus.</summary>
    internal TokenizerServiceFactory(string storeRoot, string corpusPath, bool ownsStore = false)
    {
        StoreRoot = storeRoot;
        CorpusPath = corpusPath;
        _ownsStore = ownsStore;
    }

    public string StoreRoot { get; }

    /// <summary>The API key the service requires (LlmMesh:ApiKey); none by default.</summary>
    public string? ApiKey { get; init; }

    public string CorpusPath { get; }

    public ITestHarness Harness => Services.GetTestHarness();

    public LlmMesh.Contracts.V1.Tokenizer.TokenizerClient CreateTokenizerClient() => new(Channel);

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxSendMessageSize = null,
    });

    /// <summary>Waits until the service answers instead of reporting that it is still loading.</summary>
    public async Task<GetInfoResponse> WaitUntilReadyAsync(LlmMesh.Contracts.V1.Tokenizer.TokenizerClient? client = null)
    {
        client ??= CreateTokenizerClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await client.GetInfoAsync(new GetInfoRequest());
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ModelStore:Path", StoreRoot);
        builder.UseSetting("Tokenizer:CorpusPath", CorpusPath);
        builder.UseSetting("Tokenizer:MaxTextBytes", MaxTextBytes.ToString());
        builder.UseSetting("Tokenizer:MaxTrainingCorpusBytes", MaxTrainingCorpusBytes.ToString());
        builder.UseSetting("Grpc:MaxReceiveMessageSize", MaxReceiveMessageSize.ToString());
        if (ApiKey is not null)
        {
            builder.UseSetting("LlmMesh:ApiKey", ApiKey);
        }
        builder.ConfigureServices(services => services.AddMassTransitTestHarness());
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
        if (disposing && _ownsStore && Directory.Exists(StoreRoot))
        {
            Directory.Delete(StoreRoot, recursive: true);
        }
    }
}
