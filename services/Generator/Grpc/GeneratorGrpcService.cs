using System.Threading.Channels;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Options;
using GeneratorBase = LlmMesh.Contracts.V1.Generator.GeneratorBase;

namespace LlmMesh.Generator.Grpc;

public sealed class GeneratorGrpcService(
    ModelHost<GeneratorModel> host, GenerationEngine engine, IOptions<GeneratorOptions> options, IHostApplicationLifetime lifetime) : GeneratorBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        // Bad input is refused before a model is needed; unset sampling settings are the model's own.
        GenerationRequest.From(request, options.Value, RecommendedSampling.Plain);
        // The stream keeps the model it started with, whatever is loaded meanwhile.
        using var lease = await host.AcquireAsync(request.Model, context.CancellationToken);
        var generation = GenerationRequest.From(request, options.Value, lease.Model.Sampling);
        var chunks = Channel.CreateBounded<GenerateResponse>(new BoundedChannelOptions(options.Value.StreamBuffer)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // Decoding stops when the client leaves or when the service stops (then with a final "cancelled").
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var producing = Task.Run(async () =>
        {
            try
            {
                await engine.RunAsync(lease, generation, chunks.Writer, stop.Token);
                chunks.Writer.Complete();
            }
            catch (Exception ex)
            {
                chunks.Writer.Complete(ex);
            }
        });
        try
        {
            while (await chunks.Reader.WaitToReadAsync(context.CancellationToken))
            {
                while (ChunkCoalescer.TryTakeNext(chunks.Reader, out var response))
                {
                    await responseStream.WriteAsync(response, context.CancellationToken);
                }
            }
        }
        finally
        {
            // A client that cancels or disconnects stops decoding at the next step.
            await stop.CancelAsync();
            await producing;
        }
    }

    public override async Task Interpolate(InterpolateRequest request, IServerStreamWriter<InterpolateResponse> responseStream, ServerCallContext context)
    {
        Interpolation.From(request, options.Value, RecommendedSampling.Plain);
        using var lease = await host.AcquireAsync(request.Model, context.CancellationToken);
        var interpolation = Interpolation.From(request, options.Value, lease.Model.Sampling);
        var steps = Channel.CreateBounded<InterpolateResponse>(new BoundedChannelOptions(options.Value.StreamBuffer)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var producing = Task.Run(async () =>
        {
            try
            {
                await engine.InterpolateAsync(lease, interpolation, steps.Writer, context.CancellationToken);
                steps.Writer.Complete();
            }
            catch (Exception ex)
            {
                steps.Writer.Complete(ex);
            }
        });
        try
        {
            await foreach (var step in steps.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(step, context.CancellationToken);
            }
        }
        finally
        {
            await producing;
        }
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        ServingGrpc.GetModelInfoAsync(host, request.Model, Info, context.CancellationToken);

    public override Task<ModelInfo> LoadModel(LoadModelRequest request, ServerCallContext context) =>
        ServingGrpc.LoadModelAsync(host, request, Info, context.CancellationToken);

    private static ModelInfo Info(ModelLease<GeneratorModel> lease) =>
        lease.ToModelInfo(lease.Model.Config.VocabularySize, lease.Model.Config.LatentSize, lease.Model.Backend);
}
