using System.CommandLine;
using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh models list|show|alias|delete: the named models of the store.</summary>
public static class ModelsCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var list = new Command("list", "List the models: versions, what the name means, the corpus");
        list.SetAction((parse, cancellationToken) => ListAsync(context(parse), cancellationToken));

        var showName = new Argument<string>("NAME") { Description = "A model name" };
        var show = new Command("show", "Show a model's versions, aliases and which services hold them") { showName };
        show.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var model = await cli.CallAsync("trainer", () => cli.Mesh.Models.GetModelAsync(new GetModelRequest { Name = parse.GetValue(showName)! },
                cancellationToken: cancellationToken).ResponseAsync);
            Write(cli, model);
            return ExitCodes.Success;
        });

        var aliasName = new Argument<string>("NAME") { Description = "A model name" };
        var aliasVersion = new Argument<string?>("VERSION") { Description = "The version 'stable' points at", Arity = ArgumentArity.ZeroOrOne };
        var clear = new Option<bool>("--clear") { Description = "Remove the stable alias: the name means the newest version again" };
        var alias = new Command("alias", "Point a model's stable alias at one of its versions (rollback, promotion)") { aliasName, aliasVersion, clear };
        alias.SetAction(async (parse, cancellationToken) =>
        {
            var version = parse.GetValue(aliasVersion) ?? "";
            if (version.Length == 0 == !parse.GetValue(clear))
            {
                throw new CliException("give a VERSION, or --clear to remove the alias", ExitCodes.BadArguments);
            }
            using var cli = context(parse);
            var request = new SetAliasRequest { Name = parse.GetValue(aliasName)!, Alias = "stable", Version = version };
            Write(cli, await cli.CallAsync("trainer", () => cli.Mesh.Models.SetAliasAsync(request, cancellationToken: cancellationToken).ResponseAsync));
            return ExitCodes.Success;
        });

        var deleteName = new Argument<string>("NAME") { Description = "A model name" };
        var deleteVersion = new Argument<string>("VERSION") { Description = "The version to delete" };
        var delete = new Command("delete", "Delete one version of a model (refused while a service holds it)") { deleteName, deleteVersion };
        delete.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var request = new DeleteVersionRequest { Name = parse.GetValue(deleteName)!, Version = parse.GetValue(deleteVersion)! };
            var model = await cli.CallAsync("trainer", () => cli.Mesh.Models.DeleteVersionAsync(request, cancellationToken: cancellationToken).ResponseAsync);
            if (cli.Json)
            {
                cli.WriteJsonLine(model);
            }
            else
            {
                await cli.Output.WriteLineAsync($"deleted {request.Name}@{request.Version}; {model.Versions.Count} version(s) left");
            }
            return ExitCodes.Success;
        });

        var command = new Command("models", "List, show, alias or delete named models (default: list)") { list, show, alias, delete };
        command.SetAction((parse, cancellationToken) => ListAsync(context(parse), cancellationToken));
        return command;
    }

    private static async Task<int> ListAsync(CliContext cli, CancellationToken cancellationToken)
    {
        using (cli)
        {
            var models = await cli.CallAsync("trainer", () => cli.Mesh.Models.ListModelsAsync(new ListModelsRequest(), cancellationToken: cancellationToken).ResponseAsync);
            if (cli.Json)
            {
                foreach (var model in models.Models)
                {
                    cli.WriteJsonLine(model);
                }
                return ExitCodes.Success;
            }
            await cli.Output.WriteAsync(Table.Format(["NAME", "VERSIONS", "SERVES", "STABLE", "CORPUS", "BLEU-4"],
                models.Models.Select(m => (IReadOnlyList<string>)[m.Name, m.Versions.Count.ToString(CultureInfo.InvariantCulture), m.DefaultVersion,
                    m.Aliases.GetValueOrDefault("stable", "-"), m.Corpus, Metric(m.Metrics, "bleu4")])));
            return ExitCodes.Success;
        }
    }

    private static void Write(CliContext cli, ModelDescription model)
    {
        if (cli.Json)
        {
            cli.WriteJsonLine(model);
            return;
        }
        cli.Output.WriteLine($"model {model.Name}: the name means {model.DefaultVersion} (corpus {model.Corpus})");
        cli.Output.Write(Table.Format(["VERSION", "KIND", "CREATED", "ALIASES", "BLEU-4", "SERVED BY"],
            model.Versions.Select(v => (IReadOnlyList<string>)[v.Version, v.Kind, v.CreatedAt.Length >= 19 ? v.CreatedAt[..19] : v.CreatedAt,
                v.Aliases.Count == 0 ? "-" : string.Join(",", v.Aliases), Metric(v.Metrics, "bleu4"), v.ServedBy.Count == 0 ? "-" : string.Join(", ", v.ServedBy)])));
    }

    private static string Metric(IDictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out var value) ? value.ToString("F3", CultureInfo.InvariantCulture) : "-";
}
