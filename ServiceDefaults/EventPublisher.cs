using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Publishes events without making the caller wait for the broker: each event is first recorded
/// in the <see cref="EventOutbox"/> (on disk under Messaging:OutboxDirectory), then a background
/// loop publishes them in order, retrying with back-off while the broker is unreachable, and
/// marks them delivered once the broker confirms. Events a killed process left undelivered are
/// published first at the next start; an event already delivered is not published again.
/// Mesh events carry their stable EventId as the message id, so consumers can still drop the
/// duplicate a crash between the broker's confirmation and the outbox's record could cause.
/// </summary>
public sealed class EventPublisher : BackgroundService
{
    private readonly Channel<OutboxEntry> _pending = Channel.CreateUnbounded<OutboxEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IBus _bus;
    private readonly EventOutbox _outbox;
    private readonly ILogger<EventPublisher> _logger;

    public EventPublisher(IBus bus, EventOutbox outbox, ILogger<EventPublisher> logger)
    {
        (_bus, _outbox, _logger) = (bus, outbox, logger);
        var left = outbox.Pending;
        if (left.Count > 0)
        {
            logger.LogInformation("Publishing {Count} events an earlier process left undelivered", left.Count);
        }
        foreach (var entry in left)
        {
            _pending.Writer.TryWrite(entry);
        }
    }

    public ValueTask PublishAsync<T>(T message, CancellationToken cancellationToken) where T : class
    {
        Publish(message);
        return ValueTask.CompletedTask;
    }

    /// <summary>Records and queues an event; never waits for the broker (safe on a compute thread).</summary>
    public void Publish<T>(T message) where T : class
    {
        if (_outbox.Add(message) is { } entry)
        {
            _pending.Writer.TryWrite(entry);
        }
        else
        {
            _logger.LogDebug("{MessageType} was already published; not publishing it again", message.GetType().Name);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var entry in _pending.Reader.ReadAllAsync(stoppingToken))
        {
            var delay = TimeSpan.FromMilliseconds(250);
            while (true)
            {
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    attempt.CancelAfter(TimeSpan.FromSeconds(30));
                    await _bus.Publish(entry.Message, entry.Message.GetType(), context => context.MessageId = entry.EventId, attempt.Token);
                    _outbox.MarkDelivered(entry);
                    break;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    _logger.LogWarning("Publishing {MessageType} failed ({Reason}); it stays in the outbox, retrying in {Delay}",
                        entry.Message.GetType().Name, ex.Message, delay);
                    await Task.Delay(delay, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                }
            }
        }
    }
}
