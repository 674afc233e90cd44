using System.Text.RegularExpressions;

namespace LlmMesh.Evaluation;

/// <summary>
/// Finds words that exist neither in the training text nor in a dictionary: the misspelt pieces a
/// subword decoder stitches together ("toress", "entryq"). Only Latin-script words are judged
/// (letters, with inner hyphens or apostrophes); numbers, punctuation and other scripts never
/// count. Comparison ignores case; a hyphenated word is known when it is, or each part is.
/// </summary>
public sealed partial class NonWords
{
    /// <summary>Where Debian's word lists (wamerican) put the system dictionary.</summary>
    public const string SystemDictionary = "/usr/share/dict/words";

    private readonly HashSet<string> _known;

    /// <param name="knownWords">Words of the training text and of a dictionary (any case).</param>
    public NonWords(IEnumerable<string> knownWords)
    {
        _known = knownWords.Select(word => word.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Knows every word of <paramref name="trainingLines"/> (split as NLTK does) and of <paramref name="dictionary"/>.</summary>
    public static NonWords FromText(IEnumerable<string> trainingLines, IEnumerable<string> dictionary) =>
        new(trainingLines.SelectMany(WordTokenizer.Tokenize).Concat(dictionary));

    /// <summary>Reads the system dictionary; null when it is not installed.</summary>
    public static IReadOnlyList<string>? ReadSystemDictionary(string path = SystemDictionary) =>
        File.Exists(path) ? File.ReadAllLines(path) : null;

    public bool IsNonWord(string word)
    {
        if (!LatinWord().IsMatch(word))
        {
            return false;
        }
        var lower = word.ToLowerInvariant();
        return !_known.Contains(lower) && !lower.Split('-').All(_known.Contains);
    }

    /// <summary>The non-words of one sentence, in order.</summary>
    public IEnumerable<string> Find(string sentence) => WordTokenizer.Tokenize(sentence).Where(IsNonWord);

    /// <summary>The fraction of sentences that hold at least one non-word.</summary>
    public double SentenceRate(IReadOnlyCollection<string> sentences) =>
        sentences.Count == 0 ? 0 : sentences.Count(s => Find(s).Any()) / (double)sentences.Count;

    [GeneratedRegex(@"^(?:[a-zA-Z\u00C0-\u024F]+)(?:['\-][a-zA-Z\u00C0-\u024F]+)*$")]
    private static partial Regex LatinWord();
}
