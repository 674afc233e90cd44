using System.Net.Http;
using Grpc.Core;
using LlmMesh.Cli;
using LlmMesh.Cli.Commands;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Clients.Tests;

public sealed class CliTests
{
    [Fact]
    public void A_progress_line_shows_the_bar_phase_epoch_step_loss_kl_and_eta()
    {
        var line = ProgressLine.Format(new ProgressUpdate
        {
            Phase = "vae", Step = 150, TotalSteps = 600, Epoch = 1, Epochs = 4, ReconstructionLoss = 3.21456, Kl = 4.5, KlWeight = 0.25, EtaSeconds = 95,
        });

        Assert.Equal("vae         [######------------------]  25%  epoch 1/4  step 150/600  loss 3.215  KL 4.50 (w 0.25)  ETA 1m35s", line);
    }

    [Fact]
    public void The_adversarial_phase_shows_the_critic()
    {
        var line = ProgressLine.Format(new ProgressUpdate { Phase = "adversarial", Step = 10, TotalSteps = 10, CriticLoss = -0.5, WassersteinEstimate = 0.25 });
        Assert.Contains("[########################] 100%", line);
        Assert.Contains("critic -0.500  W 0.250", line);
        Assert.DoesNotContain("ETA", line);
    }

    [Theory]
    [InlineData(42, "42s")]
    [InlineData(95, "1m35s")]
    [InlineData(7260, "2h01m")]
    public void Durations_read_like_a_clock(double seconds, string expected) => Assert.Equal(expected, ProgressLine.Duration(seconds));

    [Fact]
    public void Without_a_terminal_progress_is_a_line_per_phase_and_every_few_seconds()
    {
        var output = new StringWriter();
        var time = new ManualClock();
        var progress = new ProgressLine(output, interactive: false, time);
        progress.Update(new ProgressUpdate { Phase = "tokenize" });
        progress.Update(new ProgressUpdate { Phase = "vae", Step = 1, TotalSteps = 10 });
        progress.Update(new ProgressUpdate { Phase = "vae", Step = 2, TotalSteps = 10 });
        time.Now += TimeSpan.FromSeconds(6);
        progress.Update(new ProgressUpdate { Phase = "vae", Step = 3, TotalSteps = 10 });

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("step 3/10", lines[2]);
    }

    [Fact]
    public void On_a_terminal_progress_redraws_one_line()
    {
        var output = new StringWriter();
        var progress = new ProgressLine(output, interactive: true);
        progress.Update(new ProgressUpdate { Phase = "vae", Step = 1, TotalSteps = 10, Message = "resumed from step 1" });
        progress.Update(new ProgressUpdate { Phase = "vae", Step = 2, TotalSteps = 10 });
        progress.Finish();

        var text = output.ToString();
        Assert.Equal(2, text.Count(c => c == '\r'));
        Assert.Single(text, c => c == '\n');
    }

    [Fact]
    public void Hyperparameters_parse_from_name_value_pairs_and_unknown_names_are_listed()
    {
        var parsed = TrainCommand.ParseHyperparameters(["hidden_size=256", "kl_schedule=cyclical", "learning_rate=1e-3", "plain_language_model=true"]);
        Assert.Equal(256, parsed.HiddenSize);
        Assert.Equal("cyclical", parsed.KlSchedule);
        Assert.Equal(1e-3, parsed.LearningRate);
        Assert.True(parsed.PlainLanguageModel);

        var unknown = Assert.Throws<CliException>(() => TrainCommand.ParseHyperparameters(["hiden_size=3"]));
        Assert.Equal(ExitCodes.BadArguments, unknown.ExitCode);
        Assert.Contains("hidden_size", unknown.Message);
        Assert.Equal(ExitCodes.BadArguments, Assert.Throws<CliException>(() => TrainCommand.ParseHyperparameters(["hidden_size"])).ExitCode);
    }

    public static TheoryData<StatusCode, string, int> Statuses => new()
    {
        { StatusCode.Unavailable, "the generator is not ready: the model is not ready", ExitCodes.Unavailable },
        { StatusCode.InvalidArgument, "bad parameter: temperature must be", ExitCodes.BadArguments },
        { StatusCode.OutOfRange, "bad parameter: temperature must be", ExitCodes.BadArguments },
        { StatusCode.ResourceExhausted, "at capacity", ExitCodes.Unavailable },
        { StatusCode.NotFound, "not found:", ExitCodes.Failure },
        { StatusCode.FailedPrecondition, "cannot do this now", ExitCodes.Failure },
        { StatusCode.Cancelled, "cancelled", ExitCodes.Cancelled },
        { StatusCode.Internal, "failed (Internal)", ExitCodes.Failure },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public void Server_errors_say_what_went_wrong_with_an_exit_code(StatusCode status, string expected, int exitCode)
    {
        var detail = status == StatusCode.Unavailable ? "the model is not ready: loading" : "temperature must be >= 0";
        var error = CliErrors.Describe(new RpcException(new Status(status, detail)), "generator", new Uri("http://127.0.0.1:7103"));
        Assert.Contains(expected, error.Message);
        Assert.Equal(exitCode, error.ExitCode);
    }

    [Fact]
    public void A_refused_connection_says_where_the_mesh_was_expected()
    {
        var refused = new RpcException(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", new HttpRequestException("Connection refused")));
        var error = CliErrors.Describe(refused, "trainer", new Uri("http://10.0.0.9:7105"));
        Assert.Contains("cannot reach the trainer at http://10.0.0.9:7105/", error.Message);
        Assert.Contains("LLMMESH_TRAINER", error.Message);
    }

    [Fact]
    public void Addresses_come_from_the_host_and_per_service_overrides()
    {
        var environment = new Dictionary<string, string?> { ["LLMMESH_GENERATOR"] = "http://gpu-box:9000" };
        var addresses = LlmMeshCli.Addresses("mesh.local", name => environment.GetValueOrDefault(name));
        Assert.Equal(new Uri("http://gpu-box:9000"), addresses.Generator);
        Assert.Equal(new Uri("http://mesh.local:7105"), addresses.Trainer);
        Assert.Equal(new Uri("http://mesh.local:7101"), addresses.Tokenizer);
        Assert.Null(addresses.ApiKey);
        environment["LLMMESH_API_KEY"] = "sk-mesh";
        Assert.Equal("sk-mesh", LlmMeshCli.Addresses("mesh.local", name => environment.GetValueOrDefault(name)).ApiKey);

        environment["LLMMESH_ENCODER"] = "not a url";
        Assert.Contains("LLMMESH_ENCODER", Assert.Throws<CliException>(() => LlmMeshCli.Addresses("h", name => environment.GetValueOrDefault(name))).Message);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_a_readable_message_and_no_help_dump()
    {
        var (code, output, error) = await RunAsync("generate", "--temperature", "hot");
        Assert.Equal(ExitCodes.BadArguments, code);
        Assert.Equal("", output);
        Assert.Contains("'hot' for option '--temperature' as a number", error);
        Assert.Contains("see 'llmmesh generate --help'", error);

        (code, _, error) = await RunAsync("runs", "show");
        Assert.Equal(ExitCodes.BadArguments, code);
        Assert.Contains("run-id", error);

        (code, _, error) = await RunAsync("score");
        Assert.Equal(ExitCodes.BadArguments, code);
        Assert.Contains("nothing to score", error);

        (code, _, error) = await RunAsync("score", "--latent", "1,x");
        Assert.Equal(ExitCodes.BadArguments, code);
        Assert.Contains("'x' is not one", error);
    }

    [Fact]
    public async Task An_unreachable_mesh_is_reported_without_a_stack_trace()
    {
        var (code, _, error) = await RunAsync("--host", "127.0.0.1", "runs");
        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.StartsWith("llmmesh: cannot reach the trainer at http://127.0.0.1:1/", error);
        Assert.DoesNotContain("   at ", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Tables_align_their_columns()
    {
        var table = Table.Format(["A", "LONG HEADER", "C"], [["xyz", "1", "last column text"]]);
        Assert.Equal("A    LONG HEADER  C\nxyz  1            last column text\n", table);
    }

    [Fact]
    public void Sample_metrics_without_references_are_the_diversity_ones()
    {
        var metrics = EvalCommand.Measure(["a dog on a beach", "a cat on a sofa", "a dog on a sofa"], null, null);
        Assert.Equal(3, metrics["samples"]);
        Assert.InRange(metrics["self_bleu2"], 0.01, 1);
        Assert.InRange(metrics["distinct_1"], 0.01, 1);
        Assert.Equal(5, metrics["mean_words"]);
        Assert.False(metrics.ContainsKey("bleu2"));

        var withReferences = EvalCommand.Measure(["a dog on a beach", "a cat on a sofa"], ["a dog on the beach", "a cat on the sofa"], null);
        Assert.InRange(withReferences["bleu2"], 0.1, 1);
        Assert.False(withReferences.ContainsKey("forward_ppl"));
    }

    /// <summary>Runs the CLI in process with every service pointed at a closed port.</summary>
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new Dictionary<string, string?>
        {
            ["LLMMESH_TRAINER"] = "http://127.0.0.1:1", ["LLMMESH_GENERATOR"] = "http://127.0.0.1:1", ["LLMMESH_DISCRIMINATOR"] = "http://127.0.0.1:1",
        };
        var code = await LlmMeshCli.RunAsync(args, output, error, name => environment.GetValueOrDefault(name), CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
