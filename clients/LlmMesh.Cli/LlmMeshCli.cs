using System.CommandLine;
using LlmMesh.Cli.Commands;
using LlmMesh.Client;

namespace LlmMesh.Cli;

/// <summary>
/// The llmmesh command line. The mesh is found at --host (default $LLMMESH_HOST, else 127.0.0.1)
/// on the AppHost's ports; LLMMESH_GENERATOR (and _TOKENIZER, _ENCODER, _DISCRIMINATOR, _TRAINER)
/// point one service elsewhere.
/// </summary>
public static partial class LlmMeshCli
{
    public static async Task<int> RunAsync(
        string[] args, TextWriter output, TextWriter error, Func<string, string?> environment, CancellationToken cancellationToken, bool interactive = false)
    {
        var host = new Option<string>("--host")
        {
            Description = "Host of the mesh (services on ports 7101-7105); default $LLMMESH_HOST or 127.0.0.1",
            Recursive = true,
            DefaultValueFactory = _ => environment("LLMMESH_HOST") is { Length: > 0 } value ? value : "127.0.0.1",
        };
        var json = new Option<bool>("--json") { Description = "Machine-readable output (JSON; streams as one JSON object per line)", Recursive = true };
        var root = new RootCommand("Generate text with, train and evaluate an LlmMesh model.") { host, json };
        CliContext Context(ParseResult parse) => new(Addresses(parse.GetValue(host)!, environment), parse.GetValue(json), output, error, interactive);
        root.Subcommands.Add(GenerateCommand.Create(Context));
        root.Subcommands.Add(TrainCommand.Create(Context));
        root.Subcommands.Add(RunsCommand.Create(Context));
        root.Subcommands.Add(ScoreCommand.Create(Context));
        root.Subcommands.Add(EncodeCommand.Create(Context));
        root.Subcommands.Add(EvalCommand.Create(Context));
        root.Subcommands.Add(InterpolateCommand.Create(Context));
        root.Subcommands.Add(NearestCommand.Create(Context));
        root.Subcommands.Add(CorpusCommand.Create(Context));
        root.Subcommands.Add(ModelsCommand.Create(Context));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync($"llmmesh: {Readable(parseError.Message)}");
            }
            await error.WriteLineAsync($"see 'llmmesh {string.Join(' ', CommandPath(parsed.CommandResult))} --help'".Replace("  ", " ", StringComparison.Ordinal));
            return ExitCodes.BadArguments;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (CliException ex)
        {
            await error.WriteLineAsync($"llmmesh: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("llmmesh: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            await error.WriteLineAsync($"llmmesh: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>Parse errors name CLR types ("System.Nullable`1[System.Double]"); people read "a number".</summary>
    public static string Readable(string message) => TypeName().Replace(message, match => match.Groups[1].Value switch
    {
        "Double" or "Single" => "a number",
        "Int32" or "Int64" => "an integer",
        "UInt64" => "a non-negative integer",
        "Boolean" => "true or false",
        var other => other,
    });

    [System.Text.RegularExpressions.GeneratedRegex(@"expected type 'System\.(?:Nullable`1\[System\.)?(\w+)\]?'")]
    private static partial System.Text.RegularExpressions.Regex TypeName();

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? command)
    {
        var names = new Stack<string>();
        for (var current = command; current?.Parent is System.CommandLine.Parsing.CommandResult parent; current = parent)
        {
            names.Push(current.Command.Name);
        }
        return names;
    }

    public static LlmMeshClientOptions Addresses(string host, Func<string, string?> environment)
    {
        var addresses = LlmMeshClientOptions.ForHost(host);
        addresses.MaxAttempts = 2;
        addresses.ApiKey = environment("LLMMESH_API_KEY");
        addresses.Tokenizer = Override(environment, "TOKENIZER") ?? addresses.Tokenizer;
        addresses.Encoder = Override(environment, "ENCODER") ?? addresses.Encoder;
        addresses.Generator = Override(environment, "GENERATOR") ?? addresses.Generator;
        addresses.Discriminator = Override(environment, "DISCRIMINATOR") ?? addresses.Discriminator;
        addresses.Trainer = Override(environment, "TRAINER") ?? addresses.Trainer;
        return addresses;
    }

    private static Uri? Override(Func<string, string?> environment, string service) =>
        environment($"LLMMESH_{service}") is { Length: > 0 } value
            ? Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : throw new CliException($"LLMMESH_{service} is not an absolute URL: '{value}'", ExitCodes.BadArguments)
            : null;
}
