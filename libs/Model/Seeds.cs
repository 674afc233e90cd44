namespace LlmMesh.Model;

/// <summary>Deterministic seed derivation (SplitMix64): the same inputs give the same seed in every process.</summary>
public static class Seeds
{
    public static long Derive(long seed, long stream, long index)
    {
        var x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream * 0xBF58476D1CE4E5B9UL ^ (ulong)index * 0x94D049BB133111EBUL);
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return (long)((x ^ (x >> 31)) >> 1);
    }

    public static int DeriveInt(long seed, long stream, long index) => (int)(Derive(seed, stream, index) & int.MaxValue);
}
