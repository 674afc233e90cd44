using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using LlmMesh.Contracts.Events;
using MassTransit;

namespace LlmMesh.Integration.Tests;

/// <summary>A consumer of the trainer's events on a host's broker, recording each with its message id.</summary>
public sealed class TrainingEventRecorder : IAsyncDisposable
{
    private readonly ConcurrentQueue<(Guid? MessageId, ITrainingEvent Event)> _received = new();
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _marks = new();
    private IBusControl _bus = null!;
    private Func<Uri> _queue = null!;

    /// <summary>
    /// Starts consuming. A durable queue keeps its binding and messages through a broker restart
    /// (the broker keeps its state); otherwise the queue goes with the connection.
    /// </summary>
    public static async Task<TrainingEventRecorder> StartAsync(DistributedApplication app, bool durable = false)
    {
        var recorder = new TrainingEventRecorder();
        var connectionString = await app.GetConnectionStringAsync("messaging") ?? throw new InvalidOperationException("no messaging connection string");
        recorder._bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(connectionString));
            rabbit.ReceiveEndpoint($"it-training-{Guid.NewGuid():N}", endpoint =>
            {
                endpoint.AutoDelete = !durable;
                endpoint.Durable = durable;
                // Its own address, with the queue's durability (read once configured): a plain "queue:" address
                // would declare the queue durable and be refused.
                recorder._queue = () => endpoint.InputAddress;
                // One message at a time, in queue order: a mark sent to the queue arrives after everything queued before it.
                endpoint.ConcurrentMessageLimit = 1;
                endpoint.PrefetchCount = 16;
                endpoint.Handler<QueueMark>(context =>
                {
                    if (recorder._marks.TryRemove(context.Message.Id, out var arrived))
                    {
                        arrived.TrySetResult();
                    }
                    return Task.CompletedTask;
                });
                recorder.Handle<RunStarted>(endpoint);
                recorder.Handle<PhaseStarted>(endpoint);
                recorder.Handle<PhaseCompleted>(endpoint);
                recorder.Handle<EpochCompleted>(endpoint);
                recorder.Handle<CheckpointSaved>(endpoint);
                recorder.Handle<ModelPublished>(endpoint);
                recorder.Handle<RunCompleted>(endpoint);
                recorder.Handle<RunFailed>(endpoint);
                recorder.Handle<RunCancelled>(endpoint);
            });
        });
        await recorder._bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        return recorder;
    }

    public IReadOnlyList<(Guid? MessageId, ITrainingEvent Event)> For(string runId) =>
        _received.Where(r => r.Event.RunId == runId).ToArray();

    /// <summary>
    /// Waits for the run's RunCompleted, then until everything queued behind it has been consumed
    /// (a mark sent through the queue comes back), so that a duplicate already on its way shows up.
    /// </summary>
    public async Task<IReadOnlyList<(Guid? MessageId, ITrainingEvent Event)>> CompletedRunAsync(string runId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!For(runId).Any(r => r.Event is RunCompleted))
        {
            Assert.True(DateTime.UtcNow < deadline, $"RunCompleted of run {runId} did not arrive within {timeout}");
            await Task.Delay(100);
        }
        await DrainAsync(deadline - DateTime.UtcNow + TimeSpan.FromSeconds(10));
        return For(runId);
    }

    /// <summary>What a run published, by identity (type and the epoch, step or phase it is about), in a stable order.</summary>
    public static IReadOnlyList<string> Identities(IEnumerable<(Guid? MessageId, ITrainingEvent Event)> events) =>
        events.Select(e => e.Event switch
        {
            EpochCompleted epoch => $"EpochCompleted {epoch.Epoch}",
            CheckpointSaved checkpoint => $"CheckpointSaved {checkpoint.Step}",
            PhaseStarted phase => $"PhaseStarted {phase.Phase}",
            PhaseCompleted phase => $"PhaseCompleted {phase.Phase}",
            var other => other.GetType().Name,
        }).Order(StringComparer.Ordinal).ToArray();

    private void Handle<T>(IRabbitMqReceiveEndpointConfigurator endpoint) where T : class, ITrainingEvent =>
        endpoint.Handler<T>(context =>
        {
            _received.Enqueue((context.MessageId, context.Message));
            return Task.CompletedTask;
        });

    private async Task DrainAsync(TimeSpan timeout)
    {
        var mark = new QueueMark(Guid.NewGuid());
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _marks[mark.Id] = arrived;
        using var giveUp = new CancellationTokenSource(timeout);
        var endpoint = await _bus.GetSendEndpoint(_queue());
        await endpoint.Send(mark, giveUp.Token);
        await arrived.Task.WaitAsync(giveUp.Token);
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();
}

/// <summary>A message the recorder sends through its own queue to know that what came before it was consumed.</summary>
public sealed record QueueMark(Guid Id);
