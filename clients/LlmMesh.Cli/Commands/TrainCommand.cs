using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>
/// llmmesh train: starts a run and shows its progress (bar, live loss, KL, ETA). Ctrl+C cancels
/// the run on the trainer (closing the stream alone would leave it running) and waits for it to
/// stop.
/// </summary>
public static class TrainCommand
{
    private static readonly TimeSpan CancelTimeout = TimeSpan.FromSeconds(60);

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var preset = new Option<string?>("--preset") { Description = "quick (default), full, or lm (the plain language model baseline)" };
        var corpus = new Option<string?>("--corpus") { Description = "A local text file (uploaded first, one sentence per line), or the name of a corpus the trainer has (e.g. coco)" };
        var model = new Option<string?>("--model", "-m") { Description = "The named model the run publishes a version of; default the corpus name" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs over the training split" };
        var steps = new Option<long?>("--steps") { Description = "Total optimizer steps (wins over --epochs)" };
        var batchSize = new Option<int?>("--batch-size") { Description = "Sentences per batch" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the run" };
        var vocabulary = new Option<string?>("--vocabulary") { Description = "Tokenizer vocabulary version; default one learned from the corpus" };
        var startFrom = new Option<string?>("--start-from") { Description = "Take the VAE of this bundle and train only the adversarial phase" };
        var set = new Option<string[]>("--set") { Description = "A hyperparameter as name=value, e.g. --set hidden_size=256 (repeatable)" };
        var command = new Command("train", "Train a model and follow its progress; Ctrl+C cancels the run")
        {
            preset, corpus, model, epochs, steps, batchSize, seed, vocabulary, startFrom, set,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new StartRunRequest
            {
                Preset = parse.GetValue(preset) ?? "",
                Corpus = parse.GetValue(corpus) ?? "",
                Model = parse.GetValue(model) ?? "",
                VocabularyVersion = parse.GetValue(vocabulary) ?? "",
                StartFromBundle = parse.GetValue(startFrom) ?? "",
                Hyperparameters = ParseHyperparameters(parse.GetValue(set) ?? []),
            };
            if (parse.GetValue(epochs) is { } e) request.Epochs = e;
            if (parse.GetValue(steps) is { } s) request.Steps = s;
            if (parse.GetValue(batchSize) is { } b) request.BatchSize = b;
            if (parse.GetValue(seed) is { } value) request.Seed = value;
            using var cli = context(parse);
            if (File.Exists(request.Corpus))
            {
                // A local file: upload it under the model's name (replacing an earlier upload of it), then train on that.
                var name = request.Model.Length > 0 ? request.Model : CorpusCommand.NameOf(request.Corpus);
                var uploaded = await CorpusCommand.UploadAsync(cli, request.Corpus, name, replace: true, skipLongLines: false, cancellationToken);
                request.Corpus = uploaded.Name;
                if (!cli.Json)
                {
                    await cli.Error.WriteLineAsync($"uploaded {uploaded.Lines} lines as corpus {uploaded.Name}");
                }
            }
            return await RunAsync(cli, request, cancellationToken);
        });
        return command;
    }

    public static async Task<int> RunAsync(CliContext cli, StartRunRequest request, CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var follower = new RunFollower(cli);
        RunInfo final;
        try
        {
            final = await follower.FollowAsync(cli.Mesh.StartRunAsync(request, cancellationToken), cancellationToken);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or CliException)
        {
            using var timeout = new CancellationTokenSource(CancelTimeout);
            var runId = follower.RunId ?? await RunStartedSinceAsync(cli, startedAt, timeout.Token);
            if (runId is null)
            {
                await cli.Error.WriteLineAsync("llmmesh: cancelled before the run started");
                return ExitCodes.Cancelled;
            }
            await cli.Error.WriteLineAsync($"llmmesh: cancelling run {runId}...");
            await cli.CallAsync("trainer", () => cli.Mesh.CancelRunAsync(runId, timeout.Token));
            var stopped = await new RunFollower(cli).FollowAsync(cli.Mesh.WatchRunAsync(runId, timeout.Token), timeout.Token);
            await Report(cli, stopped);
            return ExitCodes.Cancelled;
        }
        await Report(cli, final);
        return final.State == RunState.Completed ? ExitCodes.Success : ExitCodes.Failure;
    }

    /// <summary>
    /// Hyperparameters from name=value pairs, names as in the contract (snake_case); values are
    /// numbers, true/false, or text.
    /// </summary>
    public static Hyperparameters ParseHyperparameters(IEnumerable<string> assignments)
    {
        var json = new JsonObject();
        foreach (var assignment in assignments)
        {
            var separator = assignment.IndexOf('=');
            if (separator <= 0)
            {
                throw new CliException($"--set takes name=value, not '{assignment}'", ExitCodes.BadArguments);
            }
            var name = assignment[..separator].Trim();
            var value = assignment[(separator + 1)..].Trim();
            json[name] = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number)
                : bool.TryParse(value, out var flag) ? JsonValue.Create(flag)
                : JsonValue.Create(value);
        }
        try
        {
            return JsonParser.Default.Parse<Hyperparameters>(json.ToJsonString());
        }
        catch (InvalidProtocolBufferException ex)
        {
            var known = string.Join(", ", Hyperparameters.Descriptor.Fields.InDeclarationOrder().Select(f => f.Name));
            throw new CliException($"bad hyperparameter ({ex.Message}); known names: {known}", ExitCodes.BadArguments);
        }
    }

    private static async Task Report(CliContext cli, RunInfo run)
    {
        if (!cli.Json)
        {
            await (run.State == RunState.Completed ? cli.Output : cli.Error).WriteLineAsync(RunFollower.Describe(run));
        }
    }

    /// <summary>The run this command started when Ctrl+C came before the stream named it.</summary>
    private static async Task<string?> RunStartedSinceAsync(CliContext cli, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        var runs = await cli.CallAsync("trainer", () => cli.Mesh.ListRunsAsync(5, cancellationToken));
        return runs.FirstOrDefault(r => r.State is RunState.Pending or RunState.Running
            && DateTimeOffset.TryParse(r.CreatedAt, CultureInfo.InvariantCulture, out var created) && created >= startedAt.AddSeconds(-1))?.RunId;
    }
}
