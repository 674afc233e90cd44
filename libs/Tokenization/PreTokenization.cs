using System.Text.RegularExpressions;

namespace LlmMesh.Tokenization;

/// <summary>
/// How text is split into words before BPE, shared by training and encoding so both see the same
/// words. A vocabulary records the split it was trained with (tokenizer.json) and keeps it.
/// </summary>
public static partial class PreTokenization
{
    /// <summary>GPT-2's split: the vocabularies trained before the per-character split of Han and kana.</summary>
    public const string Gpt2Pattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // Scripts written without spaces between words: under GPT-2's split a whole clause would be one
    // "word", and BPE would learn clauses as tokens.
    private const string NoSpaceScripts = @"\p{IsCJKUnifiedIdeographs}\p{IsCJKUnifiedIdeographsExtensionA}\p{IsCJKCompatibilityIdeographs}\p{IsHiragana}\p{IsKatakana}";

    /// <summary>
    /// GPT-2's split, with each Han, Hiragana and Katakana character a word of its own: BPE merges
    /// within words, so such a character becomes one token (as in character-level Chinese models).
    /// </summary>
    public const string Pattern =
        @"'(?:[sdmt]|ll|ve|re)| ?[" + NoSpaceScripts + @"]| ?(?:(?![" + NoSpaceScripts + @"])\p{L})+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The split new vocabularies are trained with.</summary>
    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    public static partial Regex Regex();

    [GeneratedRegex(Gpt2Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Regex();

    /// <summary>The split a vocabulary recorded.</summary>
    public static Regex For(string pattern) => pattern switch
    {
        Pattern => Regex(),
        Gpt2Pattern => Gpt2Regex(),
        _ => throw new InvalidDataException($"tokenizer.json names a pre-tokenizer pattern this build does not know: {pattern}"),
    };
}
