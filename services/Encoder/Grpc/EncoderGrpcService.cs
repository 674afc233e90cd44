using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Encoder.Encoding;
using LlmMesh.Model;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;
using Microsoft.Extensions.Options;
using EncoderBase = LlmMesh.Contracts.V1.Encoder.EncoderBase;

namespace LlmMesh.Encoder.Grpc;

public sealed class EncoderGrpcService(
    ModelHost<EncoderModel> host, TextEncoder encoder, IOptions<EncoderOptions> options) : EncoderBase
{
    private const int DefaultNeighbors = 5;
    private readonly EncoderOptions _limits = options.Value;

    public override Task<EncodeTextsResponse> Encode(EncodeTextsRequest request, ServerCallContext context) =>
        EncodeAsync(request, context.CancellationToken);

    public override async Task EncodeStream(
        IAsyncStreamReader<EncodeTextsRequest> requestStream, IServerStreamWriter<EncodeTextsResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(await EncodeAsync(request, context.CancellationToken), context.CancellationToken);
        }
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        ServingGrpc.GetModelInfoAsync(host, request.Model, Info, context.CancellationToken);

    public override Task<ModelInfo> LoadModel(LoadModelRequest request, ServerCallContext context) =>
        ServingGrpc.LoadModelAsync(host, request, Info, context.CancellationToken);

    public override async Task<NearestResponse> Nearest(NearestRequest request, ServerCallContext context)
    {
        var (query, k) = ValidateNearest(request);
        using var lease = await host.AcquireAsync(ServingGrpc.Reference(request.BundleVersion, request.Model), context.CancellationToken);
        var (neighbors, code) = await encoder.NearestAsync(lease, query, k, context.CancellationToken);
        var response = new NearestResponse { QueryLatent = { code }, Indexed = lease.Model.Index.Count, BundleVersion = lease.Info.Version };
        response.Neighbors.AddRange(neighbors.Select(n => new Neighbor { Text = n.Text, Distance = n.Distance, Line = n.Line }));
        return response;
    }

    private async Task<EncodeTextsResponse> EncodeAsync(EncodeTextsRequest request, CancellationToken cancellationToken)
    {
        Validate(request);
        using var lease = await host.AcquireAsync(ServingGrpc.Reference(request.BundleVersion, request.Model), cancellationToken);
        var seed = request.HasSeed ? request.Seed : SplitMixRandom.NewSeed();
        var encoded = await encoder.EncodeAsync(lease, request.Texts, seed, cancellationToken);
        var response = new EncodeTextsResponse { Seed = seed, BundleVersion = lease.Info.Version };
        response.Codes.AddRange(encoded.Select(e => new LatentCode { Mu = { e.Mu }, Logvar = { e.LogVar }, Z = { e.Z }, Tokens = e.Tokens }));
        return response;
    }

    private void Validate(EncodeTextsRequest request)
    {
        if (request.Texts.Count == 0)
        {
            throw new ArgumentException("texts is empty");
        }
        if (request.Texts.Count > _limits.MaxTexts)
        {
            throw new ArgumentException($"texts: {request.Texts.Count} texts exceed the limit of {_limits.MaxTexts} per request (Encoder:MaxTexts)");
        }
        for (var i = 0; i < request.Texts.Count; i++)
        {
            RequireText(request.Texts[i], $"texts[{i}]");
        }
    }

    private void RequireText(string text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"{field} is empty");
        }
        var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        if (bytes > _limits.MaxTextBytes)
        {
            throw new ArgumentException($"{field}: {bytes} bytes exceed the limit of {_limits.MaxTextBytes} bytes (Encoder:MaxTextBytes)");
        }
    }

    private (NearestQuery Query, int K) ValidateNearest(NearestRequest request)
    {
        var k = request.K == 0 ? DefaultNeighbors : request.K;
        if (k is < 1 or > LatentIndex.MaxNeighbors)
        {
            throw new ArgumentException($"k must be between 1 and {LatentIndex.MaxNeighbors}, not {request.K}");
        }
        switch (request.QueryCase)
        {
            case NearestRequest.QueryOneofCase.Text:
                RequireText(request.Text, "text");
                return (new NearestQuery(request.Text, null), k);
            case NearestRequest.QueryOneofCase.Latent when request.Latent.Values.Count > 0:
                LatentCodes.RequireFinite(request.Latent.Values, "latent");
                return (new NearestQuery(null, [.. request.Latent.Values]), k);
            default:
                throw new ArgumentException("set text or latent (a code of GetModelInfo.latent_size values)");
        }
    }

    private static ModelInfo Info(ModelLease<EncoderModel> lease) =>
        lease.ToModelInfo(lease.Model.Config.VocabularySize, lease.Model.Config.LatentSize, lease.Model.Backend);
}
