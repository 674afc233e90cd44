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
        await RelayAsync<GenerateResponse>(context,
            (chunks, stop) => engine.RunAsync(lease, generation, chunks, stop),
            async chunks =>
            {
                while (await chunks.WaitToReadAsync(context.CancellationToken))
                {
                    while (ChunkCoalescer.TryTakeNext(chunks, out var response))
                    {
                        await responseStream.WriteAsync(response, context.CancellationToken);
                    }
                }
            });
    }

    public override async Task Interpolate(InterpolateRequest request, IServerStreamWriter<InterpolateResponse> responseStream, ServerCallContext context)
    {
        Interpolation.From(request, options.Value, RecommendedSampling.Plain);
        using var lease = await host.AcquireAsync(request.Model, context.CancellationToken);
        var interpolation = Interpolation.From(request, options.Value, lease.Model.Sampling);
        await RelayAsync<InterpolateResponse>(context,
            (steps, stop) => engine.InterpolateAsync(lease, interpolation, steps, stop),
            async steps =>
            {
                await foreach (var step in steps.ReadAllAsync(context.CancellationToken))
                {
                    await responseStream.WriteAsync(step, context.CancellationToken);
                }
            });
    }

    /// <summary>
    /// Runs <paramref name="produce"/> into a bounded channel that <paramref name="deliver"/> writes to
    /// the client (production waits while the client reads slowly). Production stops when the client
    /// leaves or the service stops (then the engine ends with a final "cancelled").
    /// </summary>
    private async Task RelayAsync<T>(ServerCallContext context, Func<ChannelWriter<T>, CancellationToken, Task> produce, Func<ChannelReader<T>, Task> deliver)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(options.Value.StreamBuffer)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var producing = Task.Run(async () =>
        {
            try
            {
                await produce(channel.Writer, stop.Token);
                channel.Writer.Complete();
            }
            catch (Exception ex)
            {
                channel.Writer.Complete(ex);
            }
        });
        try
        {
            await deliver(channel.Reader);
        }
        finally
        {
            // A client that cancels or disconnects stops decoding at the next step.
            await stop.CancelAsync();
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
