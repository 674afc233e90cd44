namespace LlmMesh.ModelStore.Mirroring;

/// <summary>The parts of the model store a process copies from the shared store into its own folder.</summary>
[Flags]
public enum StoreAreas
{
    None = 0,

    /// <summary>bundles/ (new versions added once verified; those this process downloaded removed when deleted from the bucket) and aliases.json.</summary>
    Bundles = 1,

    /// <summary>tokenizer/: vocabularies (added once verified, never removed) and the ACTIVE marker.</summary>
    Vocabularies = 2,

    /// <summary>serving/: which versions each serving process holds (read before a version is deleted).</summary>
    ServingReports = 4,
}

/// <summary>
/// Keeps a process's model store folder in step with the shared store. On the Disk backend the
/// folder is the shared store and there is nothing to copy; on S3 writers push what they wrote
/// and readers pull what others published (<see cref="S3StoreMirror"/>).
/// </summary>
public interface IModelStoreMirror
{
    /// <summary>Uploads a published bundle: every file, then manifest.json last (readers take a bundle only once its manifest is there).</summary>
    Task PushBundleAsync(ModelBundle bundle, CancellationToken cancellationToken);

    /// <summary>Removes a bundle from the shared store (manifest first, so no reader takes a half-deleted bundle).</summary>
    Task DeleteBundleAsync(string version, CancellationToken cancellationToken);

    /// <summary>Uploads a stored vocabulary folder (tokenizer/{version}/), its file listing last.</summary>
    Task PushVocabularyAsync(string version, CancellationToken cancellationToken);

    /// <summary>Uploads one small file of the store (aliases.json, tokenizer/ACTIVE, serving/...), or removes it when the file no longer exists.</summary>
    Task PushFileAsync(string relativePath, CancellationToken cancellationToken);

    /// <summary>Brings this process's folder up to date with the shared store for the areas it reads.</summary>
    Task<PullResult> PullAsync(CancellationToken cancellationToken);
}

/// <summary>The Disk backend: every process works in the shared folder itself, so writes are already published.</summary>
public sealed class SharedFolderMirror : IModelStoreMirror
{
    public Task PushBundleAsync(ModelBundle bundle, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DeleteBundleAsync(string version, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PushVocabularyAsync(string version, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PushFileAsync(string relativePath, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<PullResult> PullAsync(CancellationToken cancellationToken) => Task.FromResult(PullResult.Nothing);
}
