namespace LlmMesh;

/// <summary>
/// Which replica of a service a process is (LlmMesh:Instance, e.g. "generator-2"; the AppHost sets
/// it; elsewhere, as on Kubernetes, the host name, which is the pod's name).
/// </summary>
public static class MeshInstance
{
    public const string ConfigurationKey = "LlmMesh:Instance";

    /// <summary>The gRPC response header (initial metadata) naming the replica that answered.</summary>
    public const string HeaderName = "x-llmmesh-instance";

    public static string Resolve(string? configured) =>
        configured is { Length: > 0 } ? configured : Environment.MachineName.ToLowerInvariant();
}
