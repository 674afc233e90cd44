using System.Runtime.CompilerServices;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.TestSupport;

/// <summary>
/// A generator client that answers from a script instead of a server: unit tests of what sits on
/// top of the Generate contract (the IChatClient, the gateway) without a mesh. Cancellation
/// behaves as gRPC's: a cancelled read throws RpcException(Cancelled).
/// </summary>
public sealed class ScriptedGeneratorClient : Generator.GeneratorClient
{
    private int _cancelled;

    public ModelInfo Model { get; set; } = new() { BundleVersion = "20261128T000000Z-test", CreatedAt = "2026-11-28T00:00:00.0000000+00:00" };

    /// <summary>Thrown by GetModelInfo when set (e.g. UNAVAILABLE: no model yet).</summary>
    public RpcException? ModelInfoError { get; set; }

    /// <summary>The messages of one Generate call; default: <see cref="Echo"/>.</summary>
    public Func<GenerateRequest, CancellationToken, IAsyncEnumerable<GenerateResponse>> Respond { get; set; } = Echo;

    public List<GenerateRequest> Requests { get; } = [];

    /// <summary>Generate calls the caller cancelled or left before their last message.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    public override AsyncServerStreamingCall<GenerateResponse> Generate(GenerateRequest request, CallOptions options)
    {
        lock (Requests)
        {
            Requests.Add(request.Clone());
        }
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        var reader = new ScriptReader(Respond(request, cancellation.Token).GetAsyncEnumerator(cancellation.Token), cancellation.Token);
        return new AsyncServerStreamingCall<GenerateResponse>(
            reader, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () =>
            {
                // Disposing a call that is still running cancels it, as gRPC does.
                if (!reader.Finished)
                {
                    Interlocked.Increment(ref _cancelled);
                }
                cancellation.Cancel();
                cancellation.Dispose();
            });
    }

    /// <summary>Model names GetModelInfo knows besides the default one (others are NOT_FOUND, as the generator answers).</summary>
    public HashSet<string> NamedModels { get; } = ["coco"];

    public override AsyncUnaryCall<ModelInfo> GetModelInfoAsync(GetModelInfoRequest request, CallOptions options) =>
        new(ModelInfoError is { } error ? Task.FromException<ModelInfo>(error)
            : request.Model.Length == 0 || request.Model == Model.BundleVersion ? Task.FromResult(Model.Clone())
            : NamedModels.Contains(request.Model) ? Task.FromResult(new ModelInfo(Model) { Model = request.Model })
            : Task.FromException<ModelInfo>(new RpcException(new Status(StatusCode.NotFound, $"model '{request.Model}' was not found"))),
            Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });

    /// <summary>Streams the words of the prompt (or "a b c") as chunks, then a final message as the generator sends it.</summary>
    public static async IAsyncEnumerable<GenerateResponse> Echo(GenerateRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var words = (request.Prompt.Length > 0 ? request.Prompt : "a b c").Split(' ');
        var max = request.HasMaxTokens ? request.MaxTokens : words.Length;
        var count = Math.Min(max, words.Length);
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new GenerateResponse { Chunk = new GenerateChunk { Text = (i == 0 ? "" : " ") + words[i], TokenIds = { i } } };
        }
        yield return Final(count < words.Length ? "length" : "eos", words.Length, count, request.HasSeed ? request.Seed : 42);
    }

    public static GenerateResponse Final(string finishReason, int promptTokens, int completionTokens, ulong seed = 42) => new()
    {
        Final = new GenerateFinal
        {
            FinishReason = finishReason,
            Seed = seed,
            BundleVersion = "20261128T000000Z-test",
            LatentSource = "prompt",
            Usage = new Usage { PromptTokens = promptTokens, CompletionTokens = completionTokens, TotalTokens = promptTokens + completionTokens },
        },
    };

    private sealed class ScriptReader(IAsyncEnumerator<GenerateResponse> script, CancellationToken callCancelled)
        : IAsyncStreamReader<GenerateResponse>
    {
        public GenerateResponse Current => script.Current;

        public bool Finished { get; private set; }

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callCancelled);
            try
            {
                var next = script.MoveNextAsync().AsTask();
                await next.WaitAsync(both.Token);
                Finished = !next.Result;
                return next.Result;
            }
            catch (OperationCanceledException)
            {
                throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."));
            }
        }
    }
}
