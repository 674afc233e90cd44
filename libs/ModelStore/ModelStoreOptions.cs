using System.ComponentModel.DataAnnotations;

namespace LlmMesh.ModelStore;

/// <summary>Where the model store lives (configuration section "ModelStore").</summary>
public sealed class ModelStoreOptions
{
    public const string Section = "ModelStore";

    /// <summary>Root folder: vocabularies under tokenizer/, model bundles under bundles/.</summary>
    [Required]
    public string Path { get; set; } = "";

    /// <summary>The root as an absolute path; relative paths are taken from the content root.</summary>
    public string ResolvePath(string contentRoot) => System.IO.Path.GetFullPath(Path, contentRoot);
}
