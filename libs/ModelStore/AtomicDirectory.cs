namespace LlmMesh.ModelStore;

/// <summary>Creates folders all at once: written under a temporary name, then renamed into place.</summary>
public static class AtomicDirectory
{
    public const string TemporaryPrefix = ".tmp-";

    /// <summary>
    /// Writes a new folder <paramref name="name"/> under <paramref name="parent"/>. Returns false
    /// (and writes nothing) when it already exists, including when another writer won the race.
    /// </summary>
    public static bool Create(string parent, string name, Action<string> write) =>
        CreateAsync(parent, name, directory =>
        {
            write(directory);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    /// <inheritdoc cref="Create"/>
    public static async Task<bool> CreateAsync(string parent, string name, Func<string, Task> write)
    {
        var target = Path.Combine(parent, name);
        if (Directory.Exists(target))
        {
            return false;
        }
        var temporary = Path.Combine(parent, TemporaryPrefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temporary);
        try
        {
            await write(temporary);
            Directory.Move(temporary, target);
            return true;
        }
        catch (IOException) when (Directory.Exists(target))
        {
            return false;
        }
        finally
        {
            if (Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
        }
    }

    /// <summary>Removes a folder all at once: renamed aside (readers no longer find it), then deleted.</summary>
    public static void Remove(string parent, string name)
    {
        var aside = Path.Combine(parent, TemporaryPrefix + Guid.NewGuid().ToString("N"));
        Directory.Move(Path.Combine(parent, name), aside);
        Directory.Delete(aside, recursive: true);
    }

    /// <summary>Replaces a file's content in one rename (readers see the old or the new content, never a mix).</summary>
    public static void WriteFile(string path, ReadOnlySpan<byte> content)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Names of the sub-folders that pass <paramref name="isValidName"/>, in ordinal order (temporary folders never do).</summary>
    public static IReadOnlyList<string> ListNames(string parent, Func<string, bool> isValidName) =>
        Directory.EnumerateDirectories(parent)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(isValidName)
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Removes temporary folders left by writers that died mid-write.</summary>
    public static void RemoveAbandoned(string parent, TimeSpan olderThan)
    {
        foreach (var directory in new DirectoryInfo(parent).EnumerateDirectories(TemporaryPrefix + "*"))
        {
            if (DateTime.UtcNow - directory.LastWriteTimeUtc > olderThan)
            {
                directory.Delete(recursive: true);
            }
        }
    }
}
