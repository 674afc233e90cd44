using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Gateway.OpenAi;

/// <summary>A message of one choice's Generate stream, and the generator replica that streams it.</summary>
public readonly record struct ChoiceEvent(int Index, GenerateResponse Response, string Instance);

public static class ChoiceStreams
{
    private const int Capacity = 64;

    /// <summary>
    /// Runs every choice's Generate stream at once and merges their messages as they come. The
    /// channel is bounded, so a slow reader slows the generator down; the first failure ends the
    /// merge with that error and cancels the other streams, as does the reader leaving.
    /// </summary>
    public static async IAsyncEnumerable<ChoiceEvent> RunAsync(
        LlmMeshClient mesh, IReadOnlyList<GenerateRequest> choices, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<ChoiceEvent>(new BoundedChannelOptions(Capacity) { SingleReader = true });
        var remaining = choices.Count;
        var producers = choices.Select((request, index) => ProduceAsync(index, request)).ToArray();
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return message;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(producers);
        }

        async Task ProduceAsync(int index, GenerateRequest request)
        {
            try
            {
                using var call = mesh.Generator.Generate(request, cancellationToken: stop.Token);
                var instance = (await call.ResponseHeadersAsync).GetValue(MeshInstance.HeaderName) ?? "";
                try
                {
                    await foreach (var response in call.ResponseStream.ReadAllAsync(stop.Token))
                    {
                        await channel.Writer.WriteAsync(new ChoiceEvent(index, response, instance), stop.Token);
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && instance.Length > 0)
                {
                    // The replica serving this stream went away mid-stream: say which one.
                    throw new RpcException(new Status(ex.StatusCode, $"generator replica '{instance}' became unavailable: {ex.Status.Detail}"), ex.Trailers);
                }
                if (Interlocked.Decrement(ref remaining) == 0)
                {
                    channel.Writer.TryComplete();
                }
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                channel.Writer.TryComplete(ex);
                await stop.CancelAsync();
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Another choice failed or the reader left: nothing more to deliver.
            }
        }
    }
}
