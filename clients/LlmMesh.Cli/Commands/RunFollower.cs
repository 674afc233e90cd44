using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>Follows a run's progress stream (StartRun or WatchRun) to its final message.</summary>
public sealed class RunFollower(CliContext cli)
{
    /// <summary>The run being followed, once the stream has named it.</summary>
    public string? RunId { get; private set; }

    public async Task<RunInfo> FollowAsync(IAsyncEnumerable<RunProgress> progress, CancellationToken cancellationToken)
    {
        var line = new ProgressLine(cli.Error, cli.Interactive);
        try
        {
            return await cli.CallAsync("trainer", async () =>
            {
                await foreach (var message in progress.WithCancellation(cancellationToken))
                {
                    if (cli.Json)
                    {
                        cli.WriteJsonLine(message);
                    }
                    if (message.Final is { } final)
                    {
                        RunId = final.RunId;
                        return final;
                    }
                    RunId = message.Update.RunId;
                    if (!cli.Json)
                    {
                        line.Update(message.Update);
                    }
                }
                throw new CliException("the trainer's progress stream ended without a final message");
            });
        }
        finally
        {
            line.Finish();
        }
    }

    /// <summary>What a finished run says, for people.</summary>
    public static string Describe(RunInfo run)
    {
        var state = run.State.ToString().ToLowerInvariant();
        var text = $"run {run.RunId} {state} at step {run.Step}/{run.TotalSteps} ({run.Phase})";
        if (run.State == RunState.Completed)
        {
            text += $": published bundle {run.BundleVersion}";
            if (run.Validation is { Sentences: > 0 } validation)
            {
                text += string.Create(CultureInfo.InvariantCulture,
                    $"; held out: perplexity {validation.Perplexity:F2}, KL {validation.KlPerSentence:F2} nats, active units {validation.ActiveUnits}");
            }
        }
        else if (run.Error.Length > 0)
        {
            text += $": {run.Error}";
        }
        return text;
    }
}
