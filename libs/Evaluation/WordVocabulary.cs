namespace LlmMesh.Evaluation;

/// <summary>Maps words to dense ids so that n-grams can be packed into one integer key.</summary>
public sealed class WordVocabulary
{
    /// <summary>Ids use 24 bits so that five of them fit one <see cref="UInt128"/> key.</summary>
    public const int MaxWords = 1 << 24;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _words = [];

    public int Count => _words.Count;

    public string this[int id] => _words[id];

    public int GetOrAdd(string word)
    {
        if (_ids.TryGetValue(word, out var id))
        {
            return id;
        }
        if (_words.Count == MaxWords)
        {
            throw new InvalidOperationException($"more than {MaxWords} distinct words");
        }
        _ids.Add(word, _words.Count);
        _words.Add(word);
        return _words.Count - 1;
    }

    public bool TryGet(string word, out int id) => _ids.TryGetValue(word, out id);

    public int[] GetOrAdd(IReadOnlyList<string> words)
    {
        var ids = new int[words.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = GetOrAdd(words[i]);
        }
        return ids;
    }
}

/// <summary>An n-gram of word ids packed 24 bits per word, the last word in the lowest bits.</summary>
public static class NGramKey
{
    private const int Bits = 24;
    private static readonly UInt128 WordMask = (UInt128)(WordVocabulary.MaxWords - 1);

    public static UInt128 Pack(ReadOnlySpan<int> words)
    {
        UInt128 key = 0;
        foreach (var word in words)
        {
            key = (key << Bits) | (uint)word;
        }
        return key;
    }

    public static int Last(UInt128 key) => (int)(key & WordMask);

    public static int First(UInt128 key, int order) => (int)((key >> (Bits * (order - 1))) & WordMask);

    /// <summary>The n-gram without its last word (its context).</summary>
    public static UInt128 Context(UInt128 key) => key >> Bits;

    /// <summary>The n-gram of <paramref name="order"/> words without its first word.</summary>
    public static UInt128 Suffix(UInt128 key, int order) => key & ((UInt128.One << (Bits * (order - 1))) - 1);

    public static UInt128 Append(UInt128 context, int word) => (context << Bits) | (uint)word;
}
