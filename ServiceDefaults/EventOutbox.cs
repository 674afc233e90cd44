using System.Text.Json;
using LlmMesh.Contracts.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The events a service has yet to hand to the broker, kept on disk so that neither a broker
/// outage nor a killed process loses one, plus the ids of those already delivered so that a
/// fact published again (a resumed run replays its last steps) is not delivered twice.
/// Pending events are files named by a sequence number; delivered ids are appended to a log.
/// Without a directory it keeps the same books in memory (tests, hosts without a data folder).
/// A file it cannot read is never deleted: it goes to <see cref="RejectedFolder"/> beside the
/// others, with an error in the log, for someone to look at.
/// </summary>
public sealed partial class EventOutbox
{
    public const string RejectedFolder = "rejected";

    /// <summary>Delivered ids kept when the log is compacted at start-up: far more than any run publishes.</summary>
    private const int DeliveredKept = 100_000;
    private const string DeliveredLog = "delivered.log";
    // Metrics may be NaN (a metric that could not be computed).
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly string? _directory;
    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _delivered = [];
    private readonly Dictionary<Guid, OutboxEntry> _pending = [];
    private long _sequence;

    public EventOutbox(string? directory, ILogger<EventOutbox>? logger = null)
    {
        _directory = directory;
        logger ??= NullLogger<EventOutbox>.Instance;
        if (directory is null)
        {
            return;
        }
        Directory.CreateDirectory(directory);
        var deliveredPath = Path.Combine(directory, DeliveredLog);
        if (File.Exists(deliveredPath))
        {
            var ids = File.ReadLines(deliveredPath).Where(l => Guid.TryParse(l, out _)).TakeLast(DeliveredKept).ToArray();
            _delivered.UnionWith(ids.Select(Guid.Parse));
            AtomicWrite(deliveredPath, string.Join('\n', ids) + (ids.Length > 0 ? "\n" : ""));
        }
        foreach (var file in Directory.EnumerateFiles(directory, "*.event.json").Order(StringComparer.Ordinal))
        {
            var (entry, problem) = Read(file);
            if (entry is null)
            {
                Reject(file, problem!, logger);
                continue;
            }
            if (_delivered.Contains(entry.EventId))
            {
                File.Delete(file);
                continue;
            }
            _pending[entry.EventId] = entry;
            _sequence = Math.Max(_sequence, entry.Sequence);
        }
    }

    /// <summary>Events left undelivered by an earlier process, oldest first.</summary>
    public IReadOnlyList<OutboxEntry> Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending.Values.OrderBy(e => e.Sequence).ToArray();
            }
        }
    }

    /// <summary>
    /// Records <paramref name="message"/> before it is published; null when the same event was
    /// already delivered or is already waiting (a replayed fact).
    /// </summary>
    public OutboxEntry? Add(object message)
    {
        var eventId = message is IMeshEvent meshEvent ? meshEvent.EventId : Guid.NewGuid();
        lock (_gate)
        {
            if (_delivered.Contains(eventId) || _pending.ContainsKey(eventId))
            {
                return null;
            }
            var entry = new OutboxEntry(++_sequence, eventId, message);
            if (_directory is not null)
            {
                var document = new StoredEvent(entry.Sequence, eventId, message.GetType().FullName!, JsonSerializer.SerializeToElement(message, message.GetType(), Json));
                AtomicWrite(PathOf(entry), JsonSerializer.Serialize(document, Json));
            }
            _pending[eventId] = entry;
            return entry;
        }
    }

    /// <summary>The broker accepted the event: it is never published again.</summary>
    public void MarkDelivered(OutboxEntry entry)
    {
        lock (_gate)
        {
            if (_directory is not null)
            {
                File.AppendAllText(Path.Combine(_directory, DeliveredLog), entry.EventId + "\n");
                File.Delete(PathOf(entry));
            }
            _pending.Remove(entry.EventId);
            _delivered.Add(entry.EventId);
        }
    }

    private string PathOf(OutboxEntry entry) => Path.Combine(_directory!, $"{entry.Sequence:D12}-{entry.EventId:N}.event.json");

    /// <summary>A stored event, or why the file is not one (torn, or naming a type that is not a mesh event).</summary>
    private static (OutboxEntry? Entry, string? Problem) Read(string file)
    {
        try
        {
            var document = JsonSerializer.Deserialize<StoredEvent>(File.ReadAllText(file), Json);
            if (document is null)
            {
                return (null, "it holds no event");
            }
            var type = typeof(IMeshEvent).Assembly.GetType(document.Type);
            if (type is null || !typeof(IMeshEvent).IsAssignableFrom(type))
            {
                return (null, $"'{document.Type}' is not a mesh event type");
            }
            var message = document.Body.Deserialize(type, Json);
            return message is null ? (null, "its body is empty") : (new OutboxEntry(document.Sequence, document.EventId, message), null);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return (null, ex.Message);
        }
    }

    private static void Reject(string file, string problem, ILogger logger)
    {
        var rejected = Path.Combine(Path.GetDirectoryName(file)!, RejectedFolder);
        Directory.CreateDirectory(rejected);
        var target = Path.Combine(rejected, Path.GetFileName(file));
        File.Move(file, File.Exists(target) ? $"{target}.{DateTime.UtcNow:yyyyMMddTHHmmssfff}" : target);
        LogRejected(logger, file, rejected, problem);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox file {File} is not a readable event and was moved to {RejectedFolder}: {Problem}")]
    private static partial void LogRejected(ILogger logger, string file, string rejectedFolder, string problem);

    private static void AtomicWrite(string path, string contents)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private sealed record StoredEvent(long Sequence, Guid EventId, string Type, JsonElement Body);
}

/// <summary>One event in the outbox, in publishing order.</summary>
public sealed record OutboxEntry(long Sequence, Guid EventId, object Message);
