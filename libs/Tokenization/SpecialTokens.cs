namespace LlmMesh.Tokenization;

/// <summary>The special tokens every vocabulary starts with; their ids never change.</summary>
public static class SpecialTokens
{
    public const int PadId = 0;
    public const int BosId = 1;
    public const int EosId = 2;
    public const int UnkId = 3;

    public const string Pad = "<pad>";
    public const string Bos = "<bos>";
    public const string Eos = "<eos>";
    public const string Unk = "<unk>";

    public static IReadOnlyList<string> All { get; } = [Pad, Bos, Eos, Unk];

    /// <summary>Id of the first byte token (byte 0); byte b has id FirstByteId + b.</summary>
    public const int FirstByteId = 4;

    public static bool IsSpecial(int id) => id is >= PadId and <= UnkId;
}
