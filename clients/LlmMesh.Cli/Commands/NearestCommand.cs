using System.CommandLine;
using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh nearest "text": the training sentences whose codes lie nearest the text's ("is this a copy?").</summary>
public static class NearestCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var text = new Argument<string>("TEXT") { Description = "The sentence to search around" };
        var k = new Option<int?>("-k", "--count") { Description = "Neighbours to show (1-50, default 5)" };
        var model = ModelOption.Create();
        var command = new Command("nearest", "The model's training sentences nearest a text in the latent space") { text, k, model };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var request = new NearestRequest { Text = parse.GetValue(text)!, K = parse.GetValue(k) ?? 0, Model = parse.GetValue(model) ?? "" };
            var response = await cli.CallAsync("encoder", () => cli.Mesh.Encoder.NearestAsync(request, cancellationToken: cancellationToken).ResponseAsync);
            if (cli.Json)
            {
                cli.WriteJsonLine(response);
                return ExitCodes.Success;
            }
            var rows = response.Neighbors.Select((n, i) => new[]
            {
                (i + 1).ToString(CultureInfo.InvariantCulture),
                n.Distance.ToString("F3", CultureInfo.InvariantCulture),
                n.Line.ToString(CultureInfo.InvariantCulture),
                n.Text,
            });
            await cli.Output.WriteAsync(Table.Format(["#", "DISTANCE", "LINE", "TRAINING SENTENCE"], rows));
            await cli.Error.WriteLineAsync($"[{response.Indexed} training sentences searched · bundle {response.BundleVersion}]");
            return ExitCodes.Success;
        });
        return command;
    }
}
