using System.ComponentModel.DataAnnotations;

namespace LlmMesh.ModelStore;

/// <summary>Where model bundles are kept.</summary>
public enum ModelStoreBackend
{
    /// <summary>A folder every process reads and writes (one machine, or a ReadWriteMany volume).</summary>
    Disk,

    /// <summary>
    /// S3-compatible object storage: the folder is this process's working copy (the trainer's
    /// bundles, the tokenizer's vocabularies) or cache (a serving replica's bundles), kept in step
    /// with the bucket by <see cref="Mirroring.S3StoreMirror"/>.
    /// </summary>
    S3,
}

/// <summary>Where the model store lives (configuration section "ModelStore").</summary>
public sealed class ModelStoreOptions : IValidatableObject
{
    public const string Section = "ModelStore";

    /// <summary>Root folder: vocabularies under tokenizer/, model bundles under bundles/.</summary>
    [Required]
    public string Path { get; set; } = "";

    public ModelStoreBackend Backend { get; set; } = ModelStoreBackend.Disk;

    /// <summary>The bucket and how to reach it, when <see cref="Backend"/> is S3.</summary>
    public S3StoreOptions S3 { get; set; } = new();

    /// <summary>The root as an absolute path; relative paths are taken from the content root.</summary>
    public string ResolvePath(string contentRoot) => System.IO.Path.GetFullPath(Path, contentRoot);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Backend != ModelStoreBackend.S3)
        {
            yield break;
        }
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(S3, new ValidationContext(S3), results, validateAllProperties: true);
        foreach (var result in results)
        {
            yield return new ValidationResult($"ModelStore:S3: {result.ErrorMessage}", result.MemberNames.Select(m => $"S3.{m}"));
        }
        if (S3.ServiceUrl.Length > 0 && !Uri.TryCreate(S3.ServiceUrl, UriKind.Absolute, out _))
        {
            yield return new ValidationResult($"ModelStore:S3:ServiceUrl '{S3.ServiceUrl}' is not an absolute URL", ["S3.ServiceUrl"]);
        }
    }
}

/// <summary>An S3-compatible bucket (section "ModelStore:S3"); credentials come from an Aspire parameter or a Secret.</summary>
public sealed class S3StoreOptions
{
    /// <summary>The endpoint of an S3-compatible server (MinIO, Ceph, moto...); empty for AWS itself (by <see cref="Region"/>).</summary>
    public string ServiceUrl { get; set; } = "";

    [Required(AllowEmptyStrings = false), RegularExpression("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", ErrorMessage = "Bucket must be an S3 bucket name")]
    public string Bucket { get; set; } = "";

    /// <summary>Key prefix inside the bucket (e.g. "llmmesh/"), so one bucket can hold several meshes.</summary>
    [RegularExpression("^([A-Za-z0-9._-]+/)*$", ErrorMessage = "Prefix must be empty or folder names each ending in '/'")]
    public string Prefix { get; set; } = "";

    [Required(AllowEmptyStrings = false)]
    public string Region { get; set; } = "us-east-1";

    /// <summary>Path-style requests (bucket in the path): what S3-compatible servers expect.</summary>
    public bool ForcePathStyle { get; set; } = true;

    [Required(AllowEmptyStrings = false)]
    public string AccessKey { get; set; } = "";

    [Required(AllowEmptyStrings = false)]
    public string SecretKey { get; set; } = "";

    /// <summary>How often a process looks for what others published (new bundles also arrive at once through ModelPublished).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);
}
