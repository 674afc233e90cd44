using Grpc.Core;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Serving.Tests;

/// <summary>The one mapping from domain errors to gRPC statuses (the bad-input tables through the host check it end to end).</summary>
public sealed class DomainErrorTests
{
    public static TheoryData<Exception, StatusCode> Errors => new()
    {
        { new ArgumentException("max_tokens must be positive"), StatusCode.InvalidArgument },
        { new ArgumentOutOfRangeException("top_p", "top_p must be in (0, 1]"), StatusCode.InvalidArgument },
        { new BundleNotFoundException("v9"), StatusCode.NotFound },
        { new BundleCorruptException("v9", "checksum"), StatusCode.FailedPrecondition },
        { new ModelRefusedException("vocabulary missing"), StatusCode.FailedPrecondition },
        { new ModelNotReadyException("the model is not ready"), StatusCode.Unavailable },
        { new MeshException(MeshErrorKind.AlreadyExists, "corpus 'poems' exists"), StatusCode.AlreadyExists },
        { new MeshException(MeshErrorKind.CapacityExceeded, "at capacity"), StatusCode.ResourceExhausted },
        { new MeshException(MeshErrorKind.Internal, "broken promise"), StatusCode.Internal },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Domain_errors_become_their_status_with_the_message_as_detail(Exception error, StatusCode expected)
    {
        var interceptor = new DomainErrorInterceptor();

        var rpc = await Assert.ThrowsAsync<RpcException>(() =>
            interceptor.UnaryServerHandler<string, string>("request", null!, (_, _) => throw error));

        Assert.Equal(expected, rpc.StatusCode);
        Assert.Equal(error.Message, rpc.Status.Detail);
    }

    [Fact]
    public async Task Other_errors_pass_through_untouched_on_every_kind_of_call()
    {
        var interceptor = new DomainErrorInterceptor();
        var dependency = new RpcException(new Status(StatusCode.Unavailable, "the tokenizer is unavailable"));
        var bug = new InvalidOperationException("a bug");

        Assert.Same(dependency, await Assert.ThrowsAsync<RpcException>(() =>
            interceptor.ServerStreamingServerHandler<string, string>("request", null!, null!, (_, _, _) => throw dependency)));
        Assert.Same(bug, await Assert.ThrowsAsync<InvalidOperationException>(() =>
            interceptor.ClientStreamingServerHandler<string, string>(null!, null!, (_, _) => throw bug)));
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            interceptor.DuplexStreamingServerHandler<string, string>(null!, null!, null!, (_, _, _) => throw new ModelRefusedException("no")));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
    }
}
