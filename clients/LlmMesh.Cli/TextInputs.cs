namespace LlmMesh.Cli;

/// <summary>Texts from the command line, or one per line from a file ("-" = standard input).</summary>
public static class TextInputs
{
    public static async Task<IReadOnlyList<string>> ReadAsync(IReadOnlyList<string> arguments, string? file, TextReader standardInput, CancellationToken cancellationToken)
    {
        var texts = new List<string>(arguments);
        if (file is not null)
        {
            var lines = file == "-" ? await standardInput.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(file, cancellationToken);
            texts.AddRange(lines.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.Length > 0));
        }
        return texts;
    }
}
