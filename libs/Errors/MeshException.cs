namespace LlmMesh;

/// <summary>What went wrong, as a caller can act on it; each kind is one gRPC status (ServiceDefaults' DomainErrorInterceptor).</summary>
public enum MeshErrorKind
{
    /// <summary>The request itself is wrong (INVALID_ARGUMENT); <see cref="ArgumentException"/> means the same.</summary>
    InvalidArgument,
    /// <summary>What the request names does not exist (NOT_FOUND).</summary>
    NotFound,
    /// <summary>What the request would create exists already (ALREADY_EXISTS).</summary>
    AlreadyExists,
    /// <summary>It exists but cannot be used in its current state: a refused model, a busy trainer (FAILED_PRECONDITION).</summary>
    FailedPrecondition,
    /// <summary>A limit of this service is reached; retry later or ask for less (RESOURCE_EXHAUSTED).</summary>
    CapacityExceeded,
    /// <summary>This service or one it needs is not ready or not reachable; retry (UNAVAILABLE).</summary>
    Unavailable,
    /// <summary>A broken promise between services or within this one (INTERNAL).</summary>
    Internal,
}

/// <summary>
/// An error of the mesh's domain. Libraries throw these (or <see cref="ArgumentException"/>), never
/// transport errors; the gRPC layer turns them into statuses in one place.
/// </summary>
public class MeshException(MeshErrorKind kind, string message, Exception? innerException = null) : Exception(message, innerException)
{
    public MeshErrorKind Kind { get; } = kind;
}
