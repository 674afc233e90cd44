using System.Collections.Concurrent;
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

    private readonly Vocabularies _vocabularies;

    private InProcessTokenizer(WebApplication app, Vocabularies vocabularies)
    {
        _app = app;
        _vocabularies = vocabularies;
    }

    public TestServer Server => _app.GetTestServer();

    /// <summary>The active vocabulary (the one a request naming none gets).</summary>
    public ByteLevelBpeTokenizer Vocabulary => _vocabularies.Active;

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
        var vocabularies = new Vocabularies(ByteLevelBpeTokenizer.Create(vocabulary));

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(vocabularies);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        return new InProcessTokenizer(app, vocabularies);
    }

    /// <summary>Train calls that learned a new vocabulary.</summary>
    public int VocabulariesTrained => _vocabularies.Trained;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private sealed class Vocabularies(ByteLevelBpeTokenizer active)
    {
        private readonly ConcurrentDictionary<string, ByteLevelBpeTokenizer> _byVersion = new() { [active.Version] = active };
        private int _trained;

        public ByteLevelBpeTokenizer Active => active;
        public int Trained => _trained;

        public ByteLevelBpeTokenizer Resolve(string version) =>
            version.Length == 0 ? active
            : _byVersion.TryGetValue(version, out var tokenizer) ? tokenizer
            : throw new RpcException(new Status(StatusCode.NotFound, $"vocabulary version '{version}' was not found"));

        public (ByteLevelBpeTokenizer Tokenizer, bool Created) Add(BpeVocabulary vocabulary)
        {
            var created = !_byVersion.ContainsKey(vocabulary.Version);
            var tokenizer = _byVersion.GetOrAdd(vocabulary.Version, _ => ByteLevelBpeTokenizer.Create(vocabulary));
            if (created)
            {
                Interlocked.Increment(ref _trained);
            }
            return (tokenizer, created);
        }
    }

    private sealed class Service(Vocabularies vocabularies) : Tokenizer.TokenizerBase
    {
        public override Task<GetInfoResponse> GetInfo(GetInfoRequest request, ServerCallContext context)
        {
            var tokenizer = vocabularies.Resolve(request.VocabularyVersion);
            return Task.FromResult(new GetInfoResponse
            {
                VocabularyVersion = tokenizer.Version,
                ActiveVersion = vocabularies.Active.Version,
                VocabularySize = tokenizer.VocabularySize,
                SpecialTokens = new SpecialTokenIds { Pad = 0, Bos = 1, Eos = 2, Unk = 3 },
            });
        }

        public override async Task EncodeStream(IAsyncStreamReader<EncodeRequest> requestStream, IServerStreamWriter<EncodeResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var tokenizer = vocabularies.Resolve(request.VocabularyVersion);
                await responseStream.WriteAsync(new EncodeResponse { Ids = { tokenizer.Encode(request.Text) }, VocabularyVersion = tokenizer.Version });
            }
        }

        public override Task<DecodeResponse> Decode(DecodeRequest request, ServerCallContext context)
        {
            var tokenizer = vocabularies.Resolve(request.VocabularyVersion);
            return Task.FromResult(new DecodeResponse { Text = tokenizer.Decode(request.Ids.ToArray()), VocabularyVersion = tokenizer.Version });
        }

        public override async Task<TrainResponse> Train(IAsyncStreamReader<TrainRequest> requestStream, ServerCallContext context)
        {
            BpeTrainer? trainer = null;
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                trainer ??= new BpeTrainer(new BpeTrainingOptions { VocabularySize = request.VocabularySize, MinFrequency = request.MinFrequency });
                foreach (var line in request.Lines)
                {
                    trainer.AddLine(line);
                }
            }
            var vocabulary = (trainer ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "lines: the training corpus is empty"))).Train();
            var (tokenizer, created) = vocabularies.Add(vocabulary);
            return new TrainResponse { Version = tokenizer.Version, Size = tokenizer.VocabularySize, Lines = trainer.Lines, Created = created };
        }
    }
}
