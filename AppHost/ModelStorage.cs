namespace LlmMesh.AppHost;

/// <summary>
/// The model store of the mesh (LlmMesh:ModelStore:Backend). Disk, the default: one folder,
/// DataDirectory/models, shared by every service. S3: a bucket (LlmMesh:ModelStore:S3:ServiceUrl,
/// Bucket, Prefix, Region; credentials from the secret parameters s3-access-key and s3-secret-key),
/// and each resource gets a folder of its own, DataDirectory/model-cache/{resource}, as it would on
/// a machine of its own: everything one service publishes reaches the others through the bucket.
/// </summary>
public sealed class ModelStorage
{
    private readonly string _dataDirectory;
    private readonly S3Settings? _s3;

    private ModelStorage(string dataDirectory, S3Settings? s3)
    {
        _dataDirectory = dataDirectory;
        _s3 = s3;
    }

    public static ModelStorage From(IDistributedApplicationBuilder builder, string dataDirectory)
    {
        var section = builder.Configuration.GetSection("LlmMesh:ModelStore");
        var backend = section["Backend"] ?? "Disk";
        if (backend.Equals("Disk", StringComparison.OrdinalIgnoreCase))
        {
            return new ModelStorage(dataDirectory, null);
        }
        if (!backend.Equals("S3", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"LlmMesh:ModelStore:Backend is '{backend}'; use Disk or S3");
        }
        var bucket = section["S3:Bucket"] is { Length: > 0 } name ? name : throw new InvalidOperationException("LlmMesh:ModelStore:S3:Bucket is required for the S3 model store");
        return new ModelStorage(dataDirectory, new S3Settings(
            section["S3:ServiceUrl"] ?? "", bucket, section["S3:Prefix"] ?? "", section["S3:Region"] ?? "us-east-1",
            builder.AddParameter("s3-access-key", secret: true),
            builder.AddParameter("s3-secret-key", secret: true)));
    }

    public IResourceBuilder<ProjectResource> ApplyTo(IResourceBuilder<ProjectResource> service)
    {
        if (_s3 is null)
        {
            return service.WithEnvironment("ModelStore__Path", Path.Combine(_dataDirectory, "models"));
        }
        return service
            .WithEnvironment("ModelStore__Path", Path.Combine(_dataDirectory, "model-cache", service.Resource.Name))
            .WithEnvironment("ModelStore__Backend", "S3")
            .WithEnvironment("ModelStore__S3__ServiceUrl", _s3.ServiceUrl)
            .WithEnvironment("ModelStore__S3__Bucket", _s3.Bucket)
            .WithEnvironment("ModelStore__S3__Prefix", _s3.Prefix)
            .WithEnvironment("ModelStore__S3__Region", _s3.Region)
            .WithEnvironment("ModelStore__S3__AccessKey", _s3.AccessKey)
            .WithEnvironment("ModelStore__S3__SecretKey", _s3.SecretKey);
    }

    private sealed record S3Settings(
        string ServiceUrl, string Bucket, string Prefix, string Region,
        IResourceBuilder<ParameterResource> AccessKey, IResourceBuilder<ParameterResource> SecretKey);
}
