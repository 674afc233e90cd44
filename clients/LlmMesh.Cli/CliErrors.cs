using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace LlmMesh.Cli;

/// <summary>Says what went wrong in a call to a mesh service and what to do about it.</summary>
public static class CliErrors
{
    public static CliException Describe(RpcException ex, string service, Uri address) => ex.StatusCode switch
    {
        StatusCode.Unavailable when IsUnreachable(ex) => new(
            $"cannot reach the {service} at {address}: is the mesh running? Start it with scripts/run.sh, or point --host or " +
            $"LLMMESH_{service.ToUpperInvariant()} at it.", ExitCodes.Unavailable),
        StatusCode.Unavailable => new(
            $"the {service} is not ready: {ex.Status.Detail}. Wait for its model to load, or train one with 'llmmesh train'.", ExitCodes.Unavailable),
        StatusCode.InvalidArgument or StatusCode.OutOfRange => new($"bad parameter: {ex.Status.Detail}", ExitCodes.BadArguments),
        StatusCode.FailedPrecondition => new($"the {service} cannot do this now: {ex.Status.Detail}"),
        StatusCode.NotFound => new($"not found: {ex.Status.Detail}"),
        StatusCode.AlreadyExists => new($"already there: {ex.Status.Detail}"),
        StatusCode.ResourceExhausted => new($"the {service} is at capacity: {ex.Status.Detail}. Retry in a moment.", ExitCodes.Unavailable),
        StatusCode.DeadlineExceeded => new($"the {service} did not answer in time ({ex.Status.Detail})", ExitCodes.Unavailable),
        StatusCode.Cancelled => new("cancelled", ExitCodes.Cancelled),
        _ => new($"the {service} failed ({ex.StatusCode}): {ex.Status.Detail}"),
    };

    private static bool IsUnreachable(RpcException ex) =>
        ex.Status.DebugException is HttpRequestException or SocketException
        || ex.Status.DebugException?.InnerException is HttpRequestException or SocketException;
}
