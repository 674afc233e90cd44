using System.CommandLine;
using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh score TEXT...: how real the discriminator finds texts (or latent codes).</summary>
public static class ScoreCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var texts = new Argument<string[]>("text") { Description = "Texts to score", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file", "-f") { Description = "Also score each line of this file ('-' = standard input)" };
        var latents = new Option<string[]>("--latent") { Description = "Score a latent code given as comma-separated numbers (repeatable)" };
        var model = ModelOption.Create();
        var command = new Command("score", "Score texts or latent codes with the discriminator (probability of being real)") { texts, file, latents, model };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var inputs = (await TextInputs.ReadAsync(parse.GetValue(texts) ?? [], parse.GetValue(file), Console.In, cancellationToken))
                .Select(text => new ScoreInput { Text = text })
                .Concat((parse.GetValue(latents) ?? []).Select(ParseLatent))
                .ToList();
            if (inputs.Count == 0)
            {
                throw new CliException("nothing to score: give texts, --file or --latent", ExitCodes.BadArguments);
            }
            var response = await cli.CallAsync("discriminator", () => cli.Mesh.ScoreAsync(inputs, parse.GetValue(model) ?? "", cancellationToken));
            if (cli.Json)
            {
                cli.WriteJsonLine(response);
                return ExitCodes.Success;
            }
            var rows = response.Results.Zip(inputs, (result, input) => new[]
            {
                result.Probability.ToString("F3", CultureInfo.InvariantCulture),
                result.Score.ToString("F3", CultureInfo.InvariantCulture),
                input.InputCase == ScoreInput.InputOneofCase.Text ? result.Fluency.ToString("F3", CultureInfo.InvariantCulture) : "",
                input.InputCase == ScoreInput.InputOneofCase.Text ? input.Text : $"latent [{input.Latent.Values.Count} values]",
            });
            await cli.Output.WriteAsync(Table.Format(["P(REAL)", "SCORE", "FLUENCY", "INPUT"], rows));
            await cli.Error.WriteLineAsync($"[bundle {response.BundleVersion}]");
            return ExitCodes.Success;
        });
        return command;
    }

    public static ScoreInput ParseLatent(string text)
    {
        var values = new LatentVector();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            values.Values.Add(float.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new CliException($"--latent takes comma-separated numbers; '{part}' is not one", ExitCodes.BadArguments));
        }
        return new ScoreInput { Latent = values };
    }
}
