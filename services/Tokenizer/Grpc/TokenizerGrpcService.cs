using System.Text;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Tokenization;
using LlmMesh.Tokenizer.Vocabularies;
using Microsoft.Extensions.Options;
using TokenizerBase = LlmMesh.Contracts.V1.Tokenizer.TokenizerBase;

namespace LlmMesh.Tokenizer.Grpc;

public sealed class TokenizerGrpcService(
    VocabularyRegistry registry,
    VocabularyTrainingService training,
    IOptions<TokenizerOptions> options) : TokenizerBase
{
    private readonly TokenizerOptions _limits = options.Value;

    public override Task<EncodeResponse> Encode(EncodeRequest request, ServerCallContext context) =>
        Task.FromResult(EncodeText(request));

    public override Task<DecodeResponse> Decode(DecodeRequest request, ServerCallContext context)
    {
        var tokenizer = Resolve(request.VocabularyVersion);
        var ids = ValidIds(tokenizer, request.Ids);
        return Task.FromResult(new DecodeResponse { Text = tokenizer.Decode(ids), VocabularyVersion = tokenizer.Version });
    }

    public override async Task EncodeStream(
        IAsyncStreamReader<EncodeRequest> requestStream, IServerStreamWriter<EncodeResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(EncodeText(request), context.CancellationToken);
        }
    }

    public override async Task DecodeStream(
        IAsyncStreamReader<DecodeRequest> requestStream, IServerStreamWriter<DecodeResponse> responseStream, ServerCallContext context)
    {
        ByteLevelBpeTokenizer? tokenizer = null;
        StreamingDetokenizer? detokenizer = null;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            tokenizer ??= Resolve(request.VocabularyVersion);
            detokenizer ??= tokenizer.CreateStreamingDetokenizer();
            var text = detokenizer.Append(ValidIds(tokenizer, request.Ids));
            if (request.Final)
            {
                text += detokenizer.Flush();
                detokenizer = null; // the next request starts a new sequence
            }
            await responseStream.WriteAsync(new DecodeResponse { Text = text, VocabularyVersion = tokenizer.Version }, context.CancellationToken);
        }

        var rest = detokenizer?.Flush();
        if (!string.IsNullOrEmpty(rest))
        {
            await responseStream.WriteAsync(new DecodeResponse { Text = rest, VocabularyVersion = tokenizer!.Version }, context.CancellationToken);
        }
    }

    public override async Task<TrainResponse> Train(IAsyncStreamReader<TrainRequest> requestStream, ServerCallContext context)
    {
        BpeTrainer? trainer = null;
        var activate = false;
        var vocabularySize = 0;
        var minFrequency = 0;
        long corpusBytes = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (trainer is null)
            {
                vocabularySize = vocabularySize == 0 ? request.VocabularySize : vocabularySize;
                minFrequency = minFrequency == 0 ? request.MinFrequency : minFrequency;
                activate |= request.Activate;
                if (request.Lines.Count > 0)
                {
                    trainer = CreateTrainer(vocabularySize, minFrequency);
                }
            }
            foreach (var line in request.Lines)
            {
                corpusBytes += Encoding.UTF8.GetByteCount(line);
                if (corpusBytes > _limits.MaxTrainingCorpusBytes)
                {
                    throw new MeshException(MeshErrorKind.CapacityExceeded, $"the training corpus exceeds the limit of {_limits.MaxTrainingCorpusBytes} bytes (Tokenizer:MaxTrainingCorpusBytes)");
                }
                trainer!.AddLine(line);
            }
        }
        if (trainer is null || trainer.Lines == 0)
        {
            throw new ArgumentException("lines: the training corpus is empty");
        }

        var result = await training.TrainAsync(trainer, activate, context.CancellationToken);
        var vocabulary = result.Vocabulary;
        return new TrainResponse
        {
            Version = vocabulary.Version,
            Size = vocabulary.Tokens.Count,
            Merges = vocabulary.Merges.Count,
            CorpusSha256 = vocabulary.Training.CorpusSha256,
            Lines = vocabulary.Training.Lines,
            Created = result.Created,
            Active = result.Active,
        };
    }

    public override Task<GetInfoResponse> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        var tokenizer = Resolve(request.VocabularyVersion);
        var response = new GetInfoResponse
        {
            VocabularyVersion = tokenizer.Version,
            VocabularySize = tokenizer.VocabularySize,
            Merges = tokenizer.MergeCount,
            SpecialTokens = new SpecialTokenIds
            {
                Pad = SpecialTokens.PadId,
                Bos = SpecialTokens.BosId,
                Eos = SpecialTokens.EosId,
                Unk = SpecialTokens.UnkId,
            },
            ActiveVersion = registry.ActiveVersion ?? "",
        };
        response.AvailableVersions.AddRange(registry.Store.ListVersions());
        return Task.FromResult(response);
    }

    private EncodeResponse EncodeText(EncodeRequest request)
    {
        var bytes = Encoding.UTF8.GetByteCount(request.Text);
        if (bytes > _limits.MaxTextBytes)
        {
            throw new ArgumentException($"text: {bytes} bytes exceeds the limit of {_limits.MaxTextBytes} bytes (Tokenizer:MaxTextBytes)");
        }
        var tokenizer = Resolve(request.VocabularyVersion);
        var response = new EncodeResponse { VocabularyVersion = tokenizer.Version };
        if (request.AddBos)
        {
            response.Ids.Add(SpecialTokens.BosId);
        }
        response.Ids.AddRange(tokenizer.Encode(request.Text));
        if (request.AddEos)
        {
            response.Ids.Add(SpecialTokens.EosId);
        }
        return response;
    }

    private ReadOnlySpan<int> ValidIds(ByteLevelBpeTokenizer tokenizer, Google.Protobuf.Collections.RepeatedField<int> ids)
    {
        if (ids.Count > _limits.MaxIdsPerRequest)
        {
            throw new ArgumentException($"ids: {ids.Count} ids exceed the limit of {_limits.MaxIdsPerRequest} per request (Tokenizer:MaxIdsPerRequest)");
        }
        var span = ids.ToArray().AsSpan();
        var invalid = tokenizer.IndexOfInvalidId(span);
        if (invalid >= 0)
        {
            throw new ArgumentException($"ids[{invalid}] = {span[invalid]} is not a token id of vocabulary {tokenizer.Version} (valid ids: 0..{tokenizer.VocabularySize - 1})");
        }
        return span;
    }

    private BpeTrainer CreateTrainer(int vocabularySize, int minFrequency) => new(new BpeTrainingOptions
    {
        VocabularySize = vocabularySize == 0 ? _limits.VocabularySize : vocabularySize,
        MinFrequency = minFrequency == 0 ? _limits.MinFrequency : minFrequency,
    });

    private ByteLevelBpeTokenizer Resolve(string version)
    {
        if (version.Length > 0 && !VocabularyStore.IsValidVersion(version))
        {
            throw new ArgumentException($"vocabulary_version '{version}' is not a vocabulary version (16 hex digits); leave it empty for the active one");
        }
        return registry.Resolve(version);
    }
}
