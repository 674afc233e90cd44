using System.Security.Cryptography;
using System.Text;

namespace LlmMesh.Contracts.Events;

/// <summary>
/// An event with a stable id: publishing the same fact twice (after a retry or a restart) gives
/// the same EventId, which is also the message id, so consumers can drop duplicates.
/// </summary>
public interface IMeshEvent
{
    Guid EventId { get; }
}

public static class EventIds
{
    /// <summary>A name-based id: the same parts always give the same Guid.</summary>
    public static Guid For(params object[] parts)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('/', parts)));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5 style
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
