using System.Threading.Channels;
using LlmMesh.Contracts.Events;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Publishes events without making the caller wait for the broker: events queue in order and a
/// background loop publishes them, retrying with back-off while the broker is unreachable.
/// Mesh events carry their stable EventId as the message id, so consumers can drop duplicates.
/// </summary>
public sealed class EventPublisher(IBus bus, ILogger<EventPublisher> logger) : BackgroundService
{
    private const int Capacity = 10_000;
    private readonly Channel<object> _pending = Channel.CreateBounded<object>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public ValueTask PublishAsync<T>(T message, CancellationToken cancellationToken) where T : class =>
        _pending.Writer.WriteAsync(message, cancellationToken);

    /// <summary>Queues an event from synchronous code (a compute thread that must not hop threads).</summary>
    public void Publish<T>(T message) where T : class
    {
        if (!_pending.Writer.TryWrite(message))
        {
            _pending.Writer.WriteAsync(message).AsTask().GetAwaiter().GetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var message in _pending.Reader.ReadAllAsync(stoppingToken))
        {
            var delay = TimeSpan.FromMilliseconds(250);
            while (true)
            {
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    attempt.CancelAfter(TimeSpan.FromSeconds(30));
                    await bus.Publish(message, message.GetType(), context =>
                    {
                        if (message is IMeshEvent meshEvent)
                        {
                            context.MessageId = meshEvent.EventId;
                        }
                    }, attempt.Token);
                    break;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Publishing {MessageType} failed; retrying in {Delay}", message.GetType().Name, delay);
                    await Task.Delay(delay, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                }
            }
        }
    }
}
