using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting.Testing;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.TestSupport;

namespace LlmMesh.Integration.Tests;

/// <summary>The llmmesh command line, run as a process against the real host.</summary>
[Collection(MeshCollection.Name)]
public sealed partial class CliThroughHostTests(MeshFixture mesh)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private static string CliPath { get; } = Path.Combine(RepositoryPaths.Root, "clients", "LlmMesh.Cli", "bin",
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name, "net10.0", "llmmesh.dll");

    [Fact]
    public async Task Generate_prints_the_stream_and_a_summary_or_json_lines_that_match_the_rpc()
    {
        var direct = await CollectAsync(new GenerateRequest { Prompt = "a man riding a horse", Seed = 41, MaxTokens = 12, Temperature = 0.5 });

        var human = await RunAsync("generate", "a man riding a horse", "--seed", "41", "-n", "12", "-t", "0.5");
        Assert.Equal(0, human.ExitCode);
        Assert.Equal(direct.Text + "\n", human.Output);
        Assert.Contains($"{direct.Usage.CompletionTokens} tokens", human.Error);
        Assert.Contains("seed 41", human.Error);

        var json = await RunAsync("generate", "a man riding a horse", "--seed", "41", "-n", "12", "-t", "0.5", "--json");
        Assert.Equal(0, json.ExitCode);
        var lines = json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<JsonElement>(l)).ToArray();
        var final = lines[^1].GetProperty("final");
        Assert.Equal(direct.Text, final.GetProperty("text").GetString());
        Assert.Equal(direct.FinishReason, final.GetProperty("finishReason").GetString());
        Assert.Equal(direct.Text, string.Concat(lines[..^1].Select(l => l.GetProperty("chunk").GetProperty("text").GetString())));
        Assert.Equal("", json.Error);
    }

    [Fact]
    public async Task A_bad_parameter_or_an_unreachable_service_is_one_clear_line_and_an_exit_code()
    {
        var bad = await RunAsync("generate", "--temperature", "-1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("llmmesh: bad parameter: temperature must be a finite number >= 0, not -1\n", bad.Error);

        var unreachable = await RunAsync(new Dictionary<string, string> { ["LLMMESH_GENERATOR"] = "http://127.0.0.1:1" }, "generate");
        Assert.Equal(3, unreachable.ExitCode);
        Assert.StartsWith("llmmesh: cannot reach the generator at http://127.0.0.1:1/", unreachable.Error);
        Assert.DoesNotContain("   at ", unreachable.Error);
    }

    [Fact]
    public async Task Ctrl_C_during_generate_stops_the_generator_decoding()
    {
        using var trace = GenerationSpan.StartTrace(nameof(Ctrl_C_during_generate_stops_the_generator_decoding));
        // The CLI joins the test's trace through OpenTelemetry's TRACEPARENT environment carrier.
        using var process = Start(new Dictionary<string, string> { ["TRACEPARENT"] = trace.Id! },
            "generate", "a man riding a horse", "--ignore-eos", "-n", MeshFixture.LongStreamTokens.ToString());
        var output = new StringBuilder();
        var firstText = ReadStdoutAsync(process, output);
        try
        {
            await firstText.WaitAsync(CommandTimeout);
            await InterruptAsync(process);
            await process.WaitForExitAsync(new CancellationTokenSource(CommandTimeout).Token);
            Assert.Equal(130, process.ExitCode);
            Assert.Contains("generation cancelled", await process.StandardError.ReadToEndAsync());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }

        var span = await GenerationSpan.FindAsync(mesh, trace.TraceId, TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", span.FinishReason);
        Assert.InRange(span.OutputTokens, 1, MeshFixture.LongStreamTokens / 2);
    }

    [Fact]
    public async Task Train_shows_progress_and_Ctrl_C_cancels_the_run_on_the_trainer()
    {
        var trainer = new Trainer.TrainerClient(mesh.Channel("trainer"));
        using var process = Start(new Dictionary<string, string>(), "train", "--corpus", "coco", "--steps", "100000", "--batch-size", "32", "--seed", "5",
            "--set", "embedding_size=32", "--set", "hidden_size=48", "--set", "latent_size=8", "--set", "checkpoint_every_steps=100000");
        var progress = new List<string>();
        var training = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (progress)
            {
                progress.Add(e.Data);
            }
            if (e.Data.StartsWith("vae ", StringComparison.Ordinal))
            {
                training.TrySetResult();
            }
        };
        process.BeginErrorReadLine();
        try
        {
            await training.Task.WaitAsync(TimeSpan.FromSeconds(120));
            await InterruptAsync(process);
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);
            Assert.Equal(130, process.ExitCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            // Never leave a run going for the tests that train after this one.
            foreach (var run in (await trainer.ListRunsAsync(new ListRunsRequest { Limit = 5 })).Runs.Where(r => r.State is RunState.Running or RunState.Pending))
            {
                await trainer.CancelRunAsync(new CancelRunRequest { RunId = run.RunId });
            }
        }

        string[] lines;
        lock (progress)
        {
            lines = [.. progress];
        }
        var bar = lines.First(l => l.StartsWith("vae ", StringComparison.Ordinal));
        Assert.Matches(@"^vae\s+\[[#-]{24}\]\s+\d+%\s+step \d+/100000", bar);
        var runId = CancellingRun().Match(string.Join('\n', lines)).Groups[1].Value;
        Assert.NotEmpty(runId);
        Assert.Contains(lines, l => l.StartsWith($"run {runId} cancelled at step", StringComparison.Ordinal));
        Assert.Equal(RunState.Cancelled, (await trainer.GetRunAsync(new GetRunRequest { RunId = runId })).State);
    }

    [Fact]
    public async Task Runs_lists_and_shows_the_trainer_runs()
    {
        var list = await RunAsync("runs", "--json", "--limit", "100");
        Assert.Equal(0, list.ExitCode);
        var first = JsonSerializer.Deserialize<JsonElement>(list.Output).GetProperty("runs").EnumerateArray()
            .Single(r => r.GetProperty("bundleVersion").GetString() == mesh.FirstBundle);
        var runId = first.GetProperty("runId").GetString()!;

        var table = await RunAsync("runs");
        Assert.Matches(@"^RUN\s+STATE\s+PRESET\s+PHASE\s+STEP\s+UPDATED\s+BUNDLE\n", table.Output);
        var show = await RunAsync("runs", "show", runId);
        Assert.StartsWith($"run {runId} completed at step 40/40", show.Output);
        Assert.Contains($"published bundle {mesh.FirstBundle}", show.Output);

        // Watching a finished run gives its final state at once.
        var watch = await RunAsync("runs", "watch", runId);
        Assert.Equal(0, watch.ExitCode);
        Assert.StartsWith($"run {runId} completed", watch.Output);

        var missing = await RunAsync("runs", "show", "no-such-run");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("llmmesh: not found:", missing.Error);
    }

    [Fact]
    public async Task Encode_and_score_give_what_the_services_give()
    {
        await mesh.AraeBundleAsync();
        var encoder = new LlmMesh.Contracts.V1.Encoder.EncoderClient(mesh.Channel("encoder"));
        var discriminator = new Discriminator.DiscriminatorClient(mesh.Channel("discriminator"));
        var direct = await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog on a beach" }, Seed = 5 });

        var encode = await RunAsync("encode", "a dog on a beach", "--seed", "5", "--json");
        Assert.Equal(0, encode.ExitCode);
        var code = JsonSerializer.Deserialize<JsonElement>(encode.Output).GetProperty("codes")[0];
        Assert.Equal(direct.Codes[0].Z, code.GetProperty("z").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Contains("a dog on a beach", (await RunAsync("encode", "a dog on a beach")).Output);

        var scored = await discriminator.ScoreBatchAsync(new ScoreBatchRequest { Inputs = { new ScoreInput { Text = "a dog on a beach" } } });
        var score = await RunAsync("score", "a dog on a beach", "--json");
        Assert.Equal(0, score.ExitCode);
        Assert.Equal(scored.Results[0].Probability, JsonSerializer.Deserialize<JsonElement>(score.Output).GetProperty("results")[0].GetProperty("probability").GetDouble(), 9);
        Assert.Matches(@"^P\(REAL\)\s+SCORE\s+FLUENCY\s+INPUT\n\d\.\d{3}", (await RunAsync("score", "a dog on a beach")).Output);
    }

    [Fact]
    public async Task Eval_measures_samples_drawn_through_the_mesh()
    {
        var directory = Directory.CreateTempSubdirectory("llmmesh-eval-");
        try
        {
            var references = Path.Combine(directory.FullName, "references.txt");
            var training = Path.Combine(directory.FullName, "training.txt");
            await File.WriteAllLinesAsync(references, RepositoryPaths.CocoLines(2500).Skip(2000));
            await File.WriteAllLinesAsync(training, RepositoryPaths.CocoLines(2000));

            var eval = await RunAsync("eval", "--samples", "6", "--max-tokens", "12", "--references", references, "--training", training, "--json");

            Assert.Equal(0, eval.ExitCode);
            var result = JsonSerializer.Deserialize<JsonElement>(eval.Output);
            Assert.Equal(6, result.GetProperty("samples").GetArrayLength());
            var metrics = result.GetProperty("metrics");
            foreach (var name in new[] { "bleu2", "bleu4", "self_bleu2", "forward_ppl", "reverse_ppl", "distinct_1", "train_copy_rate", "mean_completion_tokens" })
            {
                Assert.True(metrics.TryGetProperty(name, out var value) && double.IsFinite(value.GetDouble()), name);
            }
            Assert.InRange(metrics.GetProperty("mean_completion_tokens").GetDouble(), 1, 12);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Interpolate_prints_the_path_between_two_sentences_in_order_and_its_ends_are_their_reconstructions()
    {
        var run = await RunAsync("interpolate", "a man riding a horse on a beach", "a plate of food on a table", "--steps", "5", "-n", "12");

        Assert.Equal(0, run.ExitCode);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal(["0", "1", "2", "3", "4"], lines.Select(l => l.Trim().Split(' ')[0]));
        Assert.Contains("5 steps · slerp", run.Error);
        var bundle = run.Error[(run.Error.LastIndexOf("bundle ", StringComparison.Ordinal) + "bundle ".Length)..].TrimEnd('\n', ']');
        var reconstruction = await CollectAsync(new GenerateRequest { Prompt = "a man riding a horse on a beach", Variation = 0, Temperature = 0, MaxTokens = 12, Model = bundle });
        Assert.EndsWith("  " + reconstruction.Text, lines[0]); // the path starts at the start sentence's own reconstruction
    }

    [Fact]
    public async Task Nearest_prints_the_training_sentences_nearest_a_text_the_sentence_itself_first()
    {
        var bundle = Path.Combine(mesh.DataDirectory, "models", "bundles", mesh.FirstBundle);
        var training = await File.ReadAllLinesAsync(Path.Combine(bundle, "split-train.txt"));
        var text = training[3];

        var run = await RunAsync("nearest", text, "-k", "4", "--model", mesh.FirstBundle);

        Assert.Equal(0, run.ExitCode);
        var rows = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(4, rows.Length);
        Assert.Matches($@"^1\s+0\.00\d\s+{Array.IndexOf(training, text)}\s+{Regex.Escape(text)}$", rows[0].TrimEnd());
        Assert.Contains($"training sentences searched · bundle {mesh.FirstBundle}", run.Error);

        var refused = await RunAsync("nearest", text, "-k", "51");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("k must be between 1 and 50", refused.Error);
    }

    [Fact]
    public async Task Corpus_and_models_commands_upload_list_and_delete_through_the_trainer()
    {
        var directory = Directory.CreateTempSubdirectory("llmmesh-corpus-");
        try
        {
            var file = Path.Combine(directory.FullName, "cli captions.txt");
            await File.WriteAllLinesAsync(file, RepositoryPaths.CocoLines(120).Append("").Append(RepositoryPaths.CocoLines(1)[0]));

            var upload = await RunAsync("corpus", "upload", file);
            Assert.Equal(0, upload.ExitCode);
            Assert.StartsWith("corpus cli-captions: 120 lines", upload.Output);
            Assert.Contains("dropped 1 empty, 1 repeated, 0 too long", upload.Output);

            var again = await RunAsync("corpus", "upload", file);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("already exists; set replace", again.Error);

            var list = await RunAsync("corpus", "list", "--json");
            var names = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonSerializer.Deserialize<JsonElement>(l).GetProperty("name").GetString()).ToArray();
            Assert.Contains("cli-captions", names);
            Assert.Contains("coco", names);

            var models = await RunAsync("models");
            Assert.Equal(0, models.ExitCode);
            Assert.Contains("coco", models.Output);

            var unknown = await RunAsync("generate", "--model", "no-such-model");
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("'no-such-model'", unknown.Error);

            Assert.Equal(0, (await RunAsync("corpus", "delete", "cli-captions")).ExitCode);
            Assert.DoesNotContain("cli-captions", (await RunAsync("corpus", "list")).Output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private async Task<GenerateFinal> CollectAsync(GenerateRequest request)
    {
        var generator = new Generator.GeneratorClient(mesh.Channel("generator"));
        using var call = generator.Generate(request);
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Final is { } final)
            {
                return final;
            }
        }
        throw new InvalidOperationException("no final message");
    }

    private Task<CliRun> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    private async Task<CliRun> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync(new CancellationTokenSource(CommandTimeout).Token);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
        return new CliRun(process.ExitCode, await output, await error);
    }

    /// <summary>The CLI with every service address pointed at this host (overridable).</summary>
    private Process Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"the CLI is not built at {CliPath}");
        // Through env --default-signal: a test run started in the background by a non-interactive
        // shell ignores SIGINT, its children inherit that, and .NET keeps a signal ignored at start
        // (as nohup wants), so the Ctrl+C tests would interrupt nothing.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(CliPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var service in new[] { "tokenizer", "encoder", "generator", "discriminator", "trainer" })
        {
            start.Environment[$"LLMMESH_{service.ToUpperInvariant()}"] = mesh.App.GetEndpoint(service, "grpc").ToString();
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }

    /// <summary>Copies standard output as it comes; completes when the first text arrived.</summary>
    private static Task ReadStdoutAsync(Process process, StringBuilder output)
    {
        var first = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            var buffer = new char[256];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
                first.TrySetResult();
            }
            first.TrySetException(new InvalidOperationException("the CLI ended without output"));
        });
        return first.Task;
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    private static Task InterruptAsync(Process process)
    {
        Assert.Equal(0, SendSignal(process.Id, SigInt));
        return Task.CompletedTask;
    }

    private const int SigInt = 2;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code in this project; kill(2) takes two ints.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054

    [System.Text.RegularExpressions.GeneratedRegex(@"cancelling run (\S+)\.\.\.")]
    private static partial System.Text.RegularExpressions.Regex CancellingRun();

    private sealed record CliRun(int ExitCode, string Output, string Error);
}
