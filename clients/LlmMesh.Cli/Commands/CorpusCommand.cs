using System.CommandLine;
using System.Globalization;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh corpus upload|list|delete: the corpora the trainer can train on.</summary>
public static class CorpusCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var file = new Argument<string>("FILE") { Description = "A UTF-8 text file, one sentence per line ('-' = standard input)" };
        var name = new Option<string?>("--name") { Description = "Corpus name (letters, digits, '_' or '-'); default the file name without extension" };
        var replace = new Option<bool>("--replace") { Description = "Overwrite a stored corpus of that name" };
        var skipLong = new Option<bool>("--skip-long-lines") { Description = "Drop over-long lines instead of failing the upload" };
        var upload = new Command("upload", "Upload a corpus; a progress bar shows the lines sent") { file, name, replace, skipLong };
        upload.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var path = parse.GetValue(file)!;
            var corpus = await UploadAsync(cli, path, parse.GetValue(name) ?? NameOf(path), parse.GetValue(replace), parse.GetValue(skipLong), cancellationToken);
            Write(cli, corpus);
            return ExitCodes.Success;
        });

        var list = new Command("list", "List the corpora: uploaded and shipped ones");
        list.SetAction((parse, cancellationToken) => ListAsync(context(parse), cancellationToken));

        var deleteName = new Argument<string>("NAME") { Description = "An uploaded corpus" };
        var delete = new Command("delete", "Delete an uploaded corpus") { deleteName };
        delete.SetAction(async (parse, cancellationToken) =>
        {
            using var cli = context(parse);
            var deleted = await cli.CallAsync("trainer", () => cli.Mesh.DeleteCorpusAsync(parse.GetValue(deleteName)!, cancellationToken));
            if (cli.Json)
            {
                cli.WriteJsonLine(deleted);
            }
            else
            {
                await cli.Output.WriteLineAsync($"deleted corpus {deleted.Name} ({deleted.Lines} lines)");
            }
            return ExitCodes.Success;
        });

        var command = new Command("corpus", "Upload, list or delete training corpora (default: list)") { upload, list, delete };
        command.SetAction((parse, cancellationToken) => ListAsync(context(parse), cancellationToken));
        return command;
    }

    /// <summary>A corpus name from a file name: its stem, with characters a name cannot hold replaced by '-'.</summary>
    public static string NameOf(string path)
    {
        var stem = path == "-" ? "stdin" : Path.GetFileNameWithoutExtension(path);
        var name = new string(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '-').ToArray()).TrimStart('-', '_');
        return name.Length == 0 ? "corpus" : name[..Math.Min(name.Length, 64)];
    }

    /// <summary>Streams a file's lines to the trainer, with a progress line on the error output.</summary>
    public static async Task<CorpusInfo> UploadAsync(CliContext cli, string path, string name, bool replace, bool skipLongLines, CancellationToken cancellationToken)
    {
        using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        var total = path == "-" ? 0 : new FileInfo(path).Length;
        var progress = new UploadProgress(cli, reader.BaseStream, total, name);
        try
        {
            return await cli.CallAsync("trainer", () => cli.Mesh.UploadCorpusAsync(name, Lines(reader), replace, skipLongLines, progress, cancellationToken));
        }
        finally
        {
            progress.Finish();
        }
    }

    private static IEnumerable<string> Lines(StreamReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    private static async Task<int> ListAsync(CliContext cli, CancellationToken cancellationToken)
    {
        using (cli)
        {
            var corpora = await cli.CallAsync("trainer", () => cli.Mesh.ListCorporaAsync(cancellationToken));
            if (cli.Json)
            {
                foreach (var corpus in corpora)
                {
                    cli.WriteJsonLine(corpus);
                }
                return ExitCodes.Success;
            }
            await cli.Output.WriteAsync(Table.Format(["NAME", "LINES", "BYTES", "SOURCE", "CREATED", "SHA256"],
                corpora.Select(c => (IReadOnlyList<string>)[c.Name, c.Lines.ToString(CultureInfo.InvariantCulture), c.Bytes.ToString(CultureInfo.InvariantCulture),
                    c.BuiltIn ? "built in" : "uploaded", c.CreatedAt.Length >= 19 ? c.CreatedAt[..19] : c.CreatedAt, c.Sha256[..12]])));
            return ExitCodes.Success;
        }
    }

    private static void Write(CliContext cli, CorpusInfo corpus)
    {
        if (cli.Json)
        {
            cli.WriteJsonLine(corpus);
            return;
        }
        cli.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"corpus {corpus.Name}: {corpus.Lines} lines, {corpus.Bytes} bytes, sha256 {corpus.Sha256[..12]}{(corpus.Replaced ? " (replaced)" : "")}; " +
            $"dropped {corpus.Dropped.Empty} empty, {corpus.Dropped.Duplicate} repeated, {corpus.Dropped.TooLong} too long"));
    }

    /// <summary>Lines sent and the share of the file read, redrawn in place on a terminal.</summary>
    private sealed class UploadProgress(CliContext cli, Stream file, long totalBytes, string name) : IProgress<long>
    {
        private const int BarWidth = 24;
        private bool _drawn;

        public void Report(long lines)
        {
            if (!cli.Interactive || cli.Json)
            {
                return;
            }
            var share = totalBytes > 0 ? Math.Clamp(file.Position / (double)totalBytes, 0, 1) : 0;
            var filled = (int)Math.Round(share * BarWidth);
            cli.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\rupload {name} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {share:P0} {lines} lines"));
            cli.Error.Flush();
            _drawn = true;
        }

        public void Finish()
        {
            if (_drawn)
            {
                cli.Error.WriteLine();
            }
        }
    }
}
