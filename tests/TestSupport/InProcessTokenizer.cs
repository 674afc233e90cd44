using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMesh.TestSupport;

/// <summary>
/// Another implementation of the llmmesh.v1.Tokenizer contract (the real BPE library behind a
/// minimal gRPC server) that a service under test talks to, as it would to the tokenizer service.
/// </summary>
public sealed class InProcessTokenizer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessTokenizer(WebApplication app) => _app = app;

    public TestServer Server => _app.GetTestServer();

    public ByteLevelBpeTokenizer Vocabulary { get; private set; } = null!;

    public static Task<InProcessTokenizer> StartAsync(IEnumerable<string> corpus) => StartAsync(TrainVocabulary(corpus));

    public static BpeVocabulary TrainVocabulary(IEnumerable<string> corpus)
    {
        var trainer = new BpeTrainer(new BpeTrainingOptions { VocabularySize = 400 });
        foreach (var line in corpus)
        {
            trainer.AddLine(line);
        }
        return trainer.Train();
    }

    public static async Task<InProcessTokenizer> StartAsync(BpeVocabulary vocabulary)
    {
        var tokenizer = ByteLevelBpeTokenizer.Create(vocabulary);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(tokenizer);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        return new InProcessTokenizer(app) { Vocabulary = tokenizer };
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private sealed class Service(ByteLevelBpeTokenizer tokenizer) : Tokenizer.TokenizerBase
    {
        public override Task<GetInfoResponse> GetInfo(GetInfoRequest request, ServerCallContext context)
        {
            RequireVersion(request.VocabularyVersion);
            return Task.FromResult(new GetInfoResponse
            {
                VocabularyVersion = tokenizer.Version,
                ActiveVersion = tokenizer.Version,
                VocabularySize = tokenizer.VocabularySize,
                SpecialTokens = new SpecialTokenIds { Pad = 0, Bos = 1, Eos = 2, Unk = 3 },
            });
        }

        public override async Task EncodeStream(IAsyncStreamReader<EncodeRequest> requestStream, IServerStreamWriter<EncodeResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                RequireVersion(request.VocabularyVersion);
                await responseStream.WriteAsync(new EncodeResponse { Ids = { tokenizer.Encode(request.Text) }, VocabularyVersion = tokenizer.Version });
            }
        }

        public override Task<DecodeResponse> Decode(DecodeRequest request, ServerCallContext context)
        {
            RequireVersion(request.VocabularyVersion);
            return Task.FromResult(new DecodeResponse { Text = tokenizer.Decode(request.Ids.ToArray()), VocabularyVersion = tokenizer.Version });
        }

        private void RequireVersion(string version)
        {
            if (version.Length > 0 && version != tokenizer.Version)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"vocabulary version '{version}' was not found"));
            }
        }
    }
}
