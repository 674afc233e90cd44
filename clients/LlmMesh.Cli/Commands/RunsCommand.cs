using System.CommandLine;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh runs [list|show|watch|cancel]: the trainer's runs.</summary>
public static class RunsCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var limit = new Option<int>("--limit") { Description = "Newest runs to list", DefaultValueFactory = _ => 20 };
        var list = new Command("list", "List runs, newest first") { limit };
        list.SetAction((parse, cancellationToken) => ListAsync(context(parse), parse.GetValue(limit), cancellationToken));

        var showId = RunIdArgument();
        var show = new Command("show", "Show one run") { showId };
        show.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var run = await cli.CallAsync("trainer", () => cli.Mesh.GetRunAsync(parse.GetValue(showId)!, cancellationToken));
            Write(cli, run);
            return ExitCodes.Success;
        });

        var watchId = RunIdArgument();
        var watch = new Command("watch", "Follow a run's progress until it ends; Ctrl+C stops watching, not the run") { watchId };
        watch.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var runId = parse.GetValue(watchId)!;
            try
            {
                var final = await new RunFollower(cli).FollowAsync(cli.Mesh.WatchRunAsync(runId, cancellationToken), cancellationToken);
                if (!cli.Json)
                {
                    await cli.Output.WriteLineAsync(RunFollower.Describe(final));
                }
                return final.State == RunState.Completed ? ExitCodes.Success : ExitCodes.Failure;
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or CliException)
            {
                await cli.Error.WriteLineAsync($"llmmesh: stopped watching; run {runId} goes on ('llmmesh runs cancel {runId}' stops it)");
                return ExitCodes.Cancelled;
            }
        });

        var cancelId = RunIdArgument();
        var cancel = new Command("cancel", "Cancel a run") { cancelId };
        cancel.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var run = await cli.CallAsync("trainer", () => cli.Mesh.CancelRunAsync(parse.GetValue(cancelId)!, cancellationToken));
            Write(cli, run);
            return ExitCodes.Success;
        });

        var runs = new Command("runs", "List, show, watch or cancel training runs (default: list)") { list, show, watch, cancel, limit };
        runs.SetAction((parse, cancellationToken) => ListAsync(context(parse), parse.GetValue(limit), cancellationToken));
        return runs;
    }

    private static Argument<string> RunIdArgument() => new("run-id") { Description = "The run's id (see 'llmmesh runs')" };

    private static async Task<int> ListAsync(CliContext cli, int limit, CancellationToken cancellationToken)
    {
        using (cli)
        {
            var runs = await cli.CallAsync("trainer", () => cli.Mesh.ListRunsAsync(limit, cancellationToken));
            if (cli.Json)
            {
                cli.WriteJsonLine(new ListRunsResponse { Runs = { runs } });
                return ExitCodes.Success;
            }
            if (runs.Count == 0)
            {
                await cli.Output.WriteLineAsync("no runs yet: start one with 'llmmesh train'");
                return ExitCodes.Success;
            }
            var rows = runs.Select(r => new[]
            {
                r.RunId, r.State.ToString().ToLowerInvariant(), r.Preset, r.Phase, $"{r.Step}/{r.TotalSteps}", r.UpdatedAt, r.BundleVersion,
            });
            await cli.Output.WriteAsync(Table.Format(["RUN", "STATE", "PRESET", "PHASE", "STEP", "UPDATED", "BUNDLE"], rows));
            return ExitCodes.Success;
        }
    }

    private static void Write(CliContext cli, RunInfo run)
    {
        if (cli.Json)
        {
            cli.WriteJsonLine(run);
            return;
        }
        cli.Output.WriteLine(RunFollower.Describe(run));
        cli.Output.WriteLine($"  preset {run.Preset}, corpus {run.Corpus}, seed {run.Seed}, vocabulary {run.VocabularyVersion}");
        cli.Output.WriteLine($"  created {run.CreatedAt}, updated {run.UpdatedAt}");
        foreach (var (name, value) in run.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            cli.Output.WriteLine(FormattableString.Invariant($"  {name} = {value:G6}"));
        }
    }
}
