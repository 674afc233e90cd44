using System.Text.RegularExpressions;

namespace LlmMesh.Tokenization;

/// <summary>The GPT-2 pre-tokenizer split, shared by training and encoding so both see the same words.</summary>
public static partial class PreTokenization
{
    public const string Pattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    public static partial Regex Regex();
}
