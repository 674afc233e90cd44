using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Discriminator.Scoring;
using LlmMesh.Serving.Hosting;
using DiscriminatorBase = LlmMesh.Contracts.V1.Discriminator.DiscriminatorBase;

namespace LlmMesh.Discriminator.Grpc;

public sealed class DiscriminatorGrpcService(ModelHost<DiscriminatorModel> host, Scorer scorer) : DiscriminatorBase
{
    public override async Task Score(IAsyncStreamReader<ScoreRequest> requestStream, IServerStreamWriter<ScoreResponse> responseStream, ServerCallContext context)
    {
        ModelLease<DiscriminatorModel>? lease = null;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                lease ??= await host.AcquireAsync(ServingGrpc.Reference(request.BundleVersion, request.Model), context.CancellationToken);
                var input = request.InputCase switch
                {
                    ScoreRequest.InputOneofCase.Text => new ScoreInput { Text = request.Text },
                    ScoreRequest.InputOneofCase.Latent => new ScoreInput { Latent = request.Latent },
                    _ => new ScoreInput(),
                };
                var results = await scorer.ScoreAsync(lease, [input], batch: false, context.CancellationToken);
                await responseStream.WriteAsync(results[0], context.CancellationToken);
            }
        }
        finally
        {
            lease?.Dispose();
        }
    }

    public override async Task<ScoreBatchResponse> ScoreBatch(ScoreBatchRequest request, ServerCallContext context)
    {
        using var lease = await host.AcquireAsync(ServingGrpc.Reference(request.BundleVersion, request.Model), context.CancellationToken);
        var response = new ScoreBatchResponse { BundleVersion = lease.Info.Version };
        response.Results.AddRange(await scorer.ScoreAsync(lease, request.Inputs, batch: true, context.CancellationToken));
        return response;
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        ServingGrpc.GetModelInfoAsync(host, request.Model, Info, context.CancellationToken);

    public override Task<ModelInfo> LoadModel(LoadModelRequest request, ServerCallContext context) =>
        ServingGrpc.LoadModelAsync(host, request, Info, context.CancellationToken);

    private static ModelInfo Info(ModelLease<DiscriminatorModel> lease) =>
        lease.ToModelInfo(lease.Model.VocabularySize, lease.Model.LatentSize, lease.Model.Backend);
}
