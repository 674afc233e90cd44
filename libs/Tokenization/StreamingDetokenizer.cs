using System.Text;

namespace LlmMesh.Tokenization;

/// <summary>
/// Turns a growing sequence of ids into text deltas that never end inside a UTF-8 character:
/// incomplete byte sequences are held until the next ids complete them. The concatenation of all
/// deltas plus <see cref="Flush"/> equals <see cref="ByteLevelBpeTokenizer.Decode"/> of all ids.
/// </summary>
public sealed class StreamingDetokenizer
{
    private readonly ByteLevelBpeTokenizer _tokenizer;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private byte[] _bytes = new byte[64];
    private char[] _chars = new char[64];

    internal StreamingDetokenizer(ByteLevelBpeTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>Feeds ids (validated by the caller) and returns the newly completed characters.</summary>
    public string Append(ReadOnlySpan<int> ids)
    {
        var length = 0;
        foreach (var id in ids)
        {
            var token = _tokenizer.GetTokenBytes(id);
            EnsureCapacity(ref _bytes, length + token.Length);
            token.CopyTo(_bytes.AsSpan(length));
            length += token.Length;
        }
        return Decode(_bytes.AsSpan(0, length), flush: false);
    }

    /// <summary>Ends the sequence: an unfinished character left over becomes U+FFFD, as in a one-shot decode.</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        EnsureCapacity(ref _chars, _decoder.GetCharCount(bytes, flush: false) + 4);
        var count = _decoder.GetChars(bytes, _chars, flush);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }

    private static void EnsureCapacity<T>(ref T[] buffer, int size)
    {
        if (buffer.Length < size)
        {
            Array.Resize(ref buffer, Math.Max(size, buffer.Length * 2));
        }
    }
}
