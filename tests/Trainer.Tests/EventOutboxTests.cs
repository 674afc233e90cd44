using LlmMesh.Contracts.Events;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Trainer.Tests;

public sealed class EventOutboxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("llmmesh-outbox-").FullName;

    [Fact]
    public void Undelivered_events_survive_a_restart_in_order_and_with_their_content()
    {
        var outbox = new EventOutbox(_directory);
        var first = Epoch("run-a", 1, validationNll: double.NaN);
        var second = new ModelPublished("run-a", "v1", "/store/v1", "arae", "vocab", new Dictionary<string, double> { ["bleu"] = 0.25 }, DateTimeOffset.UnixEpoch);
        var third = Epoch("run-a", 2, validationNll: 3.5);
        var delivered = outbox.Add(first)!;
        outbox.Add(second);
        outbox.Add(third);
        outbox.MarkDelivered(delivered);

        var reopened = new EventOutbox(_directory);

        Assert.Equal([second.EventId, third.EventId], reopened.Pending.Select(e => e.EventId));
        var restored = Assert.IsType<ModelPublished>(reopened.Pending[0].Message);
        Assert.Equal(second with { Metrics = restored.Metrics }, restored);
        Assert.Equal(second.Metrics, restored.Metrics);
        Assert.Equal(third, reopened.Pending[1].Message);
    }

    [Fact]
    public void An_event_already_delivered_or_waiting_is_not_published_again_even_after_a_restart()
    {
        var outbox = new EventOutbox(_directory);
        var delivered = outbox.Add(Epoch("run-b", 1, 2.0))!;
        outbox.MarkDelivered(delivered);
        Assert.NotNull(outbox.Add(Epoch("run-b", 2, 2.0)));

        Assert.Null(outbox.Add(Epoch("run-b", 2, 2.0)));
        var reopened = new EventOutbox(_directory);
        // A resumed run replays epoch 1 (delivered) and epoch 2 (still waiting): neither is queued twice.
        Assert.Null(reopened.Add(Epoch("run-b", 1, 2.0) with { OccurredAt = DateTimeOffset.UtcNow }));
        Assert.Null(reopened.Add(Epoch("run-b", 2, 2.0)));
        Assert.NotNull(reopened.Add(Epoch("run-b", 3, 2.0)));
        Assert.Equal([2, 3], reopened.Pending.Select(e => ((EpochCompleted)e.Message).Epoch));
    }

    [Fact]
    public void Later_events_are_numbered_after_those_left_by_an_earlier_process()
    {
        new EventOutbox(_directory).Add(Epoch("run-c", 1, 1.0));
        var reopened = new EventOutbox(_directory);
        reopened.Add(Epoch("run-c", 2, 1.0));

        Assert.Equal([1, 2], new EventOutbox(_directory).Pending.Select(e => ((EpochCompleted)e.Message).Epoch));
    }

    [Fact]
    public void Files_that_are_not_stored_mesh_events_move_to_the_rejected_folder_with_an_error_naming_them()
    {
        new EventOutbox(_directory).Add(Epoch("run-d", 1, 1.0));
        var torn = Path.Combine(_directory, "000000000000-torn.event.json");
        var foreign = Path.Combine(_directory, "000000000001-foreign.event.json");
        File.WriteAllText(torn, "{\"sequence\":");
        var foreignContent = "{\"sequence\":1,\"eventId\":\"" + Guid.NewGuid() + "\",\"type\":\"System.IO.FileInfo\",\"body\":{}}";
        File.WriteAllText(foreign, foreignContent);
        var logger = new RecordingLogger();

        var reopened = new EventOutbox(_directory, logger);

        Assert.Equal([1], reopened.Pending.Select(e => ((EpochCompleted)e.Message).Epoch));
        Assert.Single(Directory.GetFiles(_directory, "*.event.json"));
        var rejected = Path.Combine(_directory, EventOutbox.RejectedFolder);
        Assert.Equal("{\"sequence\":", File.ReadAllText(Path.Combine(rejected, Path.GetFileName(torn))));
        Assert.Equal(foreignContent, File.ReadAllText(Path.Combine(rejected, Path.GetFileName(foreign))));
        Assert.Equal(2, logger.Errors.Count);
        Assert.Contains(logger.Errors, e => e.Contains(torn, StringComparison.Ordinal));
        Assert.Contains(logger.Errors, e => e.Contains(foreign, StringComparison.Ordinal) && e.Contains("System.IO.FileInfo", StringComparison.Ordinal));

        // A later start finds nothing more to reject and keeps what was rejected.
        Assert.Single(new EventOutbox(_directory).Pending);
        Assert.Equal(2, Directory.GetFiles(rejected).Length);
    }

    private sealed class RecordingLogger : Microsoft.Extensions.Logging.ILogger<EventOutbox>
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Error)
            {
                Errors.Add(formatter(state, exception));
            }
        }
    }

    [Fact]
    public void Without_a_directory_the_outbox_still_drops_replayed_events()
    {
        var outbox = new EventOutbox(directory: null);
        var entry = outbox.Add(Epoch("run-e", 1, 1.0))!;
        outbox.MarkDelivered(entry);

        Assert.Null(outbox.Add(Epoch("run-e", 1, 1.0)));
        Assert.Empty(outbox.Pending);
    }

    private static EpochCompleted Epoch(string runId, int epoch, double validationNll) =>
        new(runId, epoch, epoch * 10, 4.0, 1.5, validationNll, Math.Exp(validationNll), 1.2, 0.4, 8, 1000, DateTimeOffset.UnixEpoch);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
