using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Serving.Tests;

public sealed class ReadinessMessageTests
{
    [Fact]
    public void Training_events_become_a_sentence_about_the_latest_run()
    {
        var progress = new TrainingProgress();
        Assert.Null(progress.Describe());

        progress.Started("run1", epochs: 10);
        Assert.Equal("run run1 in phase tokenize", progress.Describe());
        progress.Phase("run1", "vae");
        Assert.Equal("run run1 in phase vae, epoch 0/10", progress.Describe());
        progress.Epoch("run1", epoch: 3, epochs: 10);
        Assert.Equal("run run1 in phase vae, epoch 3/10", progress.Describe());
        progress.Phase("run1", "adversarial");
        Assert.Equal("run run1 in phase adversarial", progress.Describe());
        progress.Ended("run1", "published 20261130T000000Z-run1");
        Assert.Equal("run run1 published 20261130T000000Z-run1", progress.Describe());

        // A service that started mid-run learns the epochs from the first epoch event.
        progress.Epoch("run2", epoch: 4, epochs: 45);
        Assert.Equal("run run2 in phase vae, epoch 4/45", progress.Describe());
        // A later phase replaces the epoch.
        progress.Phase("run2", "evaluation");
        Assert.Equal("run run2 in phase evaluation", progress.Describe());
    }

    [Fact]
    public void The_health_body_says_what_each_failing_check_waits_for()
    {
        var progress = new TrainingProgress();
        Assert.Equal("waiting for the first model (no model loaded yet)", progress.WaitingMessage("no model loaded yet"));
        progress.Epoch("r", epoch: 3, epochs: 10);
        Assert.Equal("waiting for the first model: run r in phase vae, epoch 3/10 (no model loaded yet)", progress.WaitingMessage("no model loaded yet"));

        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["self"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, null),
            ["model"] = new(HealthStatus.Unhealthy, "waiting for the first model (x)", TimeSpan.Zero, null, null),
        }, TimeSpan.Zero);
        Assert.Equal("Unhealthy: model: waiting for the first model (x)", HealthResponses.Describe(report));
        Assert.Equal("Healthy", HealthResponses.Describe(new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["self"] = new(HealthStatus.Healthy, "fine", TimeSpan.Zero, null, null),
        }, TimeSpan.Zero)));
    }
}
