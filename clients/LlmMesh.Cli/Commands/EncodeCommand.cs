using System.CommandLine;
using System.Globalization;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh encode TEXT...: the encoder's latent codes (mu, logvar, a sample z).</summary>
public static class EncodeCommand
{
    private const int ShownValues = 6;

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var texts = new Argument<string[]>("text") { Description = "Texts to encode", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file", "-f") { Description = "Also encode each line of this file ('-' = standard input)" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the z samples" };
        var model = ModelOption.Create();
        var command = new Command("encode", "Encode texts to latent codes (full vectors with --json)") { texts, file, seed, model };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var inputs = await TextInputs.ReadAsync(parse.GetValue(texts) ?? [], parse.GetValue(file), Console.In, cancellationToken);
            if (inputs.Count == 0)
            {
                throw new CliException("nothing to encode: give texts or --file", ExitCodes.BadArguments);
            }
            var response = await cli.CallAsync("encoder", () => cli.Mesh.EncodeAsync(inputs, parse.GetValue(seed), parse.GetValue(model) ?? "", cancellationToken));
            if (cli.Json)
            {
                cli.WriteJsonLine(response);
                return ExitCodes.Success;
            }
            var rows = response.Codes.Zip(inputs, (code, text) => new[]
            {
                code.Tokens.ToString(CultureInfo.InvariantCulture),
                Math.Sqrt(code.Mu.Sum(m => (double)m * m)).ToString("F3", CultureInfo.InvariantCulture),
                code.Logvar.Average(l => Math.Exp(l / 2)).ToString("F3", CultureInfo.InvariantCulture),
                "[" + string.Join(", ", code.Z.Take(ShownValues).Select(z => z.ToString("F2", CultureInfo.InvariantCulture)))
                    + (code.Z.Count > ShownValues ? $", … {code.Z.Count} dims]" : "]"),
                text,
            });
            await cli.Output.WriteAsync(Table.Format(["TOKENS", "|MU|", "MEAN SIGMA", "Z", "TEXT"], rows));
            await cli.Error.WriteLineAsync($"[seed {response.Seed} · bundle {response.BundleVersion}]");
            return ExitCodes.Success;
        });
        return command;
    }
}
