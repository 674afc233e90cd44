namespace LlmMesh.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character mapping: every byte becomes a printable character so
/// that byte-level tokens can live in vocab.json and merges.txt (space becomes 'Ġ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    public static char ToChar(byte value) => ByteToChar[value];

    public static string ToSymbols(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = ByteToChar[source[i]];
            }
        });
    }

    /// <summary>Maps a byte-level token back to its bytes; false when a character is not in the alphabet.</summary>
    public static bool TryGetBytes(string symbols, out byte[] bytes)
    {
        bytes = new byte[symbols.Length];
        for (var i = 0; i < symbols.Length; i++)
        {
            if (!CharToByte.TryGetValue(symbols[i], out bytes[i]))
            {
                bytes = [];
                return false;
            }
        }
        return true;
    }

    private static char[] BuildByteToChar()
    {
        // Printable Latin-1 bytes map to themselves; the rest are shifted past U+0100.
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
