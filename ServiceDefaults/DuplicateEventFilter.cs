using MassTransit;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Drops a message whose id this service already consumed. Mesh events are published at least
/// once: a publisher killed after the broker took an event but before its outbox recorded that
/// sends it again at its next start, with the same message id (the event's EventId).
/// </summary>
public sealed class DuplicateEventFilter<T>(ConsumedMessageIds consumed, ILogger<DuplicateEventFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (context.MessageId is not { } id)
        {
            await next.Send(context);
            return;
        }
        if (consumed.Contains(id))
        {
            logger.LogInformation("Dropping {MessageType} {MessageId}: already consumed", typeof(T).Name, id);
            return;
        }
        await next.Send(context);
        // Only once consumed: a message whose consumer failed is redelivered and must not be dropped.
        consumed.Add(id);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("duplicate-events");
}

/// <summary>The ids of the last messages this service consumed (bounded, oldest forgotten first).</summary>
public sealed class ConsumedMessageIds
{
    public const int Capacity = 10_000;
    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _ids = [];
    private readonly Queue<Guid> _order = new();

    public bool Contains(Guid id)
    {
        lock (_gate)
        {
            return _ids.Contains(id);
        }
    }

    public void Add(Guid id)
    {
        lock (_gate)
        {
            if (!_ids.Add(id))
            {
                return;
            }
            _order.Enqueue(id);
            if (_order.Count > Capacity)
            {
                _ids.Remove(_order.Dequeue());
            }
        }
    }
}
