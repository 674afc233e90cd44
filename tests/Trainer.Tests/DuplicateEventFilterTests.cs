using LlmMesh.Contracts.Events;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Trainer.Tests;

public sealed class DuplicateEventFilterTests
{
    [Fact]
    public async Task A_consumer_sees_an_event_published_twice_with_the_same_id_once_and_a_failed_one_again()
    {
        var consumed = new List<int>();
        var failNext = true;
        await using var provider = new ServiceCollection()
            .AddSingleton<ConsumedMessageIds>()
            .AddMassTransitTestHarness(bus =>
            {
                bus.AddHandler<EpochCompleted>((ConsumeContext<EpochCompleted> context) =>
                {
                    if (context.Message.Epoch == 2 && failNext)
                    {
                        failNext = false;
                        throw new InvalidOperationException("the consumer failed once");
                    }
                    lock (consumed)
                    {
                        consumed.Add(context.Message.Epoch);
                    }
                    return Task.CompletedTask;
                });
                bus.UsingInMemory((context, memory) =>
                {
                    memory.UseMessageRetry(r => r.Immediate(2));
                    memory.UseConsumeFilter(typeof(DuplicateEventFilter<>), context);
                    memory.ConfigureEndpoints(context);
                });
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();

        foreach (var epoch in new[] { 1, 1, 2, 1, 2 })
        {
            var fact = Epoch(epoch);
            await harness.Bus.Publish(fact, context => context.MessageId = fact.EventId);
        }
        // The harness's idle signal: every delivery (each duplicate and epoch 2's retry) has been handled.
        await harness.InactivityTask.WaitAsync(TimeSpan.FromSeconds(30));

        lock (consumed)
        {
            Assert.Equal([1, 2], consumed.Order());
        }
    }

    private static EpochCompleted Epoch(int epoch) =>
        new("run-f", epoch, epoch * 10, 4.0, 1.5, 3.0, 20, 1.2, 0.4, 8, 1000, DateTimeOffset.UnixEpoch);
}
