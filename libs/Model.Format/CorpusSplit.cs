using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>
/// The corpus lines a model was trained on and the held-out lines it never saw, kept in its bundle
/// so that anyone can evaluate the bundle on the exact split (references, copies, perplexities).
/// </summary>
public sealed record CorpusSplit(IReadOnlyList<string> Train, IReadOnlyList<string> HeldOut)
{
    public const string TrainFile = "split-train.txt";
    public const string HeldOutFile = "split-heldout.txt";

    public void WriteTo(string directory)
    {
        File.WriteAllLines(Path.Combine(directory, TrainFile), Train);
        File.WriteAllLines(Path.Combine(directory, HeldOutFile), HeldOut);
    }

    /// <summary>The split stored in a verified bundle, or null for bundles published without one.</summary>
    public static CorpusSplit? Read(ModelBundle bundle) =>
        bundle.Manifest.Files.ContainsKey(TrainFile) && bundle.Manifest.Files.ContainsKey(HeldOutFile)
            ? new CorpusSplit(File.ReadAllLines(bundle.PathOf(TrainFile)), File.ReadAllLines(bundle.PathOf(HeldOutFile)))
            : null;
}
