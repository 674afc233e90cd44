namespace LlmMesh.Serving.Sampling;

/// <summary>
/// Applies stop strings to streamed text. Text that could still turn into a stop string is held
/// back; once a stop string appears, the text before it is released and the stop string is not.
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _held = new();

    /// <summary>The stop string that matched, once one has.</summary>
    public string? Matched { get; private set; }

    /// <summary>Adds decoded text; returns what can be emitted now.</summary>
    public string Push(string text)
    {
        if (Matched is not null)
        {
            return "";
        }
        _held.Append(text);
        var pending = _held.ToString();
        if (stops.Count == 0)
        {
            _held.Clear();
            return pending;
        }

        var (index, stop) = FirstStop(pending);
        if (stop is not null)
        {
            Matched = stop;
            _held.Clear();
            return pending[..index];
        }

        var keep = LongestSuffixThatStartsAStop(pending);
        // Never split a surrogate pair between what is emitted and what is held.
        if (keep > 0 && keep < pending.Length && char.IsLowSurrogate(pending[^keep]))
        {
            keep++;
        }
        _held.Clear().Append(pending, pending.Length - keep, keep);
        return pending[..^keep];
    }

    /// <summary>At the end of generation: releases held text (it can no longer become a stop string).</summary>
    public string Flush()
    {
        var rest = Matched is null ? _held.ToString() : "";
        _held.Clear();
        return rest;
    }

    private (int Index, string? Stop) FirstStop(string text)
    {
        var best = (Index: int.MaxValue, Stop: (string?)null);
        foreach (var stop in stops)
        {
            var index = text.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (index < best.Index || (index == best.Index && stop.Length > best.Stop!.Length)))
            {
                best = (index, stop);
            }
        }
        return best;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        var longest = 0;
        foreach (var stop in stops)
        {
            for (var length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
