using System.Text.RegularExpressions;

namespace LlmMesh.Evaluation;

/// <summary>
/// Splits text into words as NLTK's <c>word_tokenize</c> does (its NLTKWordTokenizer, the improved
/// Treebank tokenizer of NLTK 3.8, ported rule for rule). One difference: NLTK first splits text
/// into sentences with the Punkt model; this applies the word rules to the whole line
/// (<c>preserve_line=True</c>), which only differs for a line holding several sentences.
/// Scripts written without spaces between words: each Han, Hiragana, Katakana and Hangul
/// character counts as one word (as character-level BLEU for Chinese does), and so does each CJK or full-width punctuation mark, so BLEU and Self-BLEU
/// measure such text too instead of seeing one "word" per clause.
/// </summary>
public static class WordTokenizer
{
    // Rule order and patterns follow nltk/tokenize/destructive.py (Apache 2.0).
    private static readonly (Regex Pattern, string Replacement)[] StartingQuotes =
    [
        (new Regex("([«“‘„]|[`]+)"), " $1 "),
        (new Regex("^\""), "``"),
        (new Regex("(``)"), " $1 "),
        (new Regex("([ \\(\\[{<])(\"|'{2})"), "$1 `` "),
        (new Regex("(?i)(')(?!re|ve|ll|m|t|s|d|n)(\\w)\\b"), "$1 $2"),
    ];

    private static readonly (Regex Pattern, string Replacement)[] Punctuation =
    [
        (new Regex("([^\\.])(\\.)([\\]\\)}>\"'»”’ ]*)\\s*$"), "$1 $2 $3 "),
        (new Regex("([:,])([^\\d])"), " $1 $2"),
        (new Regex("([:,])$"), " $1 "),
        (new Regex("\\.{2,}"), " $0 "),
        (new Regex("[;@#$%&]"), " $0 "),
        (new Regex("([^\\.])(\\.)([\\]\\)}>\"']*)\\s*$"), "$1 $2$3 "),
        (new Regex("[?!]"), " $0 "),
        (new Regex("([^'])' "), "$1 ' "),
        (new Regex("[*]"), " $0 "),
    ];

    private static readonly (Regex Pattern, string Replacement) ParensBrackets = (new Regex("[\\]\\[\\(\\)\\{\\}\\<\\>]"), " $0 ");

    private static readonly (Regex Pattern, string Replacement) DoubleDashes = (new Regex("--"), " -- ");

    private static readonly (Regex Pattern, string Replacement)[] EndingQuotes =
    [
        (new Regex("([»”’])"), " $1 "),
        (new Regex("''"), " '' "),
        (new Regex("\""), " '' "),
        (new Regex("([^' ])('[sS]|'[mM]|'[dD]|') "), "$1 $2 "),
        (new Regex("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), "$1 $2 "),
    ];

    private static readonly Regex[] Contractions =
    [
        new("(?i)\\b(can)(?#X)(not)\\b"),
        new("(?i)\\b(d)(?#X)('ye)\\b"),
        new("(?i)\\b(gim)(?#X)(me)\\b"),
        new("(?i)\\b(gon)(?#X)(na)\\b"),
        new("(?i)\\b(got)(?#X)(ta)\\b"),
        new("(?i)\\b(lem)(?#X)(me)\\b"),
        new("(?i)\\b(more)(?#X)('n)\\b"),
        new("(?i)\\b(wan)(?#X)(na)(?=\\s)"),
        new("(?i) ('t)(?#X)(is)\\b"),
        new("(?i) ('t)(?#X)(was)\\b"),
    ];

    // Basic Multilingual Plane blocks only: .NET regex matches UTF-16 units, and the rare ideographs beyond it stay joined.
    private static readonly Regex CharacterWords = new(
        @"[\p{IsCJKUnifiedIdeographs}\p{IsCJKUnifiedIdeographsExtensionA}\p{IsCJKCompatibilityIdeographs}\p{IsHiragana}\p{IsKatakana}\p{IsKatakanaPhoneticExtensions}\p{IsHangulSyllables}\p{IsHangulJamo}\p{IsHangulCompatibilityJamo}\p{IsCJKSymbolsandPunctuation}\p{IsHalfwidthandFullwidthForms}]");

    public static string[] Tokenize(string text)
    {
        text = CharacterWords.Replace(text, " $0 ");
        foreach (var (pattern, replacement) in StartingQuotes)
        {
            text = pattern.Replace(text, replacement);
        }
        foreach (var (pattern, replacement) in Punctuation)
        {
            text = pattern.Replace(text, replacement);
        }
        text = ParensBrackets.Pattern.Replace(text, ParensBrackets.Replacement);
        text = DoubleDashes.Pattern.Replace(text, DoubleDashes.Replacement);
        text = " " + text + " ";
        foreach (var (pattern, replacement) in EndingQuotes)
        {
            text = pattern.Replace(text, replacement);
        }
        foreach (var pattern in Contractions)
        {
            text = pattern.Replace(text, " $1 $2 ");
        }
        return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }
}
