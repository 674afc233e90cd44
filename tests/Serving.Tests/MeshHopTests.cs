using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmMesh.Serving.Tests;

/// <summary>
/// What every hop of the mesh gets from ServiceDefaults, on real Kestrel servers and sockets:
/// the caller's deadline carried to the next service, and HTTP/2 keepalive pings that end a
/// long, quiet stream whose peer vanished without closing the connection.
/// </summary>
public sealed class MeshHopTests
{
    // Deadlines cross hops as relative timeouts, so a receiver's deadline is later than the sender's
    // by the time in transit: seconds on a busy machine. The bound under test is a minute, so that a
    // deadline from the bound and one from the caller are apart by far more than any such lag.
    private static readonly TimeSpan DependencyBound = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan TransitLag = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TimeoutRounding = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task A_downstream_call_gets_the_callers_deadline_or_the_dependency_bound_whichever_is_sooner()
    {
        await using var hops = await EncoderOverTokenizer.StartAsync(DependencyBound);
        var (encoder, tokenizer) = (hops.Encoder, hops.Tokenizer);

        var callerDeadline = DateTime.UtcNow.AddSeconds(20);
        await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog" } }, deadline: callerDeadline);
        Assert.InRange(tokenizer.LastDeadline, callerDeadline - TimeoutRounding, callerDeadline + TransitLag);

        // Longer than the tokenizer's bound, or none at all: the bound applies downstream.
        foreach (var deadline in new DateTime?[] { DateTime.UtcNow.AddMinutes(10), null })
        {
            await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog" } }, deadline: deadline);
            Assert.InRange(tokenizer.LastDeadline - tokenizer.LastReceived, DependencyBound - TransitLag, DependencyBound + TimeoutRounding);
        }
    }

    [Fact]
    public async Task A_downstream_call_ends_when_the_callers_deadline_passes()
    {
        await using var hops = await EncoderOverTokenizer.StartAsync(DependencyBound);
        var (encoder, tokenizer) = (hops.Encoder, hops.Tokenizer);
        // Connections and code paths warm, so that the deadline below is all the downstream call's.
        await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { "a dog" } });

        var deadline = DateTime.UtcNow.AddSeconds(1);
        var expired = await Assert.ThrowsAsync<RpcException>(() =>
            encoder.EncodeAsync(new EncodeTextsRequest { Texts = { DeadlineRecordingTokenizer.NeverAnswer } }, deadline: deadline).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, expired.StatusCode);
        Assert.InRange(tokenizer.LastDeadline, deadline - TimeoutRounding, deadline + TransitLag);
        // Ended by the caller's deadline, not by the tokenizer's own bound a minute later (the end was
        // 3.4 s late once in CI, with every test project running).
        var downstreamEnded = await tokenizer.Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.InRange(downstreamEnded, deadline - TimeoutRounding, deadline + TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Keepalive_pings_end_a_quiet_stream_on_both_sides_when_the_connection_goes_silent()
    {
        var generator = new QuietGenerator();
        var ping = TimeSpan.FromSeconds(1);
        await using var server = await MeshHost.StartAsync(
            services => services.AddSingleton(generator),
            app => app.MapGrpcService<QuietGenerator>(),
            builder =>
            {
                builder.Configuration["Kestrel:Limits:Http2:KeepAlivePingDelay"] = ping.ToString();
                builder.Configuration["Kestrel:Limits:Http2:KeepAlivePingTimeout"] = (2 * ping).ToString();
            });
        await using var proxy = BlackholingProxy.Start(server.Port);
        // The mesh's client handler; only its ping period is shortened, to keep the test short.
        var handler = LlmMeshChannelDefaults.CreateHandler();
        handler.KeepAlivePingDelay = ping;
        handler.KeepAlivePingTimeout = 2 * ping;
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{proxy.Port}", new GrpcChannelOptions { HttpHandler = handler });
        using var call = new Contracts.V1.Generator.GeneratorClient(channel).Generate(new GenerateRequest());
        Assert.True(await call.ResponseStream.MoveNext());
        // Pings on a healthy connection keep the quiet stream open: wait for four answered pings (two
        // rounds of both sides' keepalive, each longer than a ping period) to pass the proxy.
        await proxy.PingAcknowledgements(4).WaitAsync(TimeSpan.FromSeconds(15));
        Assert.False(generator.Ended.Task.IsCompleted, "the server ended a healthy quiet stream");

        var clock = Stopwatch.StartNew();
        proxy.GoSilent();

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext()).WaitAsync(TimeSpan.FromSeconds(15));
        // grpc-dotnet's status for a connection its keepalive gave up on.
        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("ping", failure.Status.Detail);
        await generator.Ended.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the dead connection was noticed after {clock.Elapsed}");
    }

    /// <summary>Two hops: an encoder that calls a tokenizer through the mesh's gRPC client, as the real encoder does.</summary>
    private sealed class EncoderOverTokenizer(MeshHost back, MeshHost front, GrpcChannel channel, DeadlineRecordingTokenizer tokenizer) : IAsyncDisposable
    {
        public DeadlineRecordingTokenizer Tokenizer => tokenizer;

        public Encoder.EncoderClient Encoder { get; } = new(channel);

        /// <param name="dependencyBound">The encoder's bound on a tokenizer call.</param>
        public static async Task<EncoderOverTokenizer> StartAsync(TimeSpan dependencyBound)
        {
            var tokenizer = new DeadlineRecordingTokenizer();
            var back = await MeshHost.StartAsync(services => services.AddSingleton(tokenizer), app => app.MapGrpcService<DeadlineRecordingTokenizer>());
            var front = await MeshHost.StartAsync(
                _ => { },
                app => app.MapGrpcService<RelayingEncoder>(),
                builder =>
                {
                    builder.Configuration["GrpcClients:tokenizer:Address"] = back.Address;
                    builder.Configuration["GrpcClients:tokenizer:CallTimeout"] = dependencyBound.ToString();
                    builder.AddMeshGrpcClient<Contracts.V1.Tokenizer.TokenizerClient>("tokenizer");
                });
            return new EncoderOverTokenizer(back, front, GrpcChannel.ForAddress(front.Address), tokenizer);
        }

        public async ValueTask DisposeAsync()
        {
            channel.Dispose();
            await front.DisposeAsync();
            await back.DisposeAsync();
        }
    }

    /// <summary>A service host as the mesh builds them (ServiceDefaults, gRPC), on a loopback port with h2c.</summary>
    private sealed class MeshHost(WebApplication app) : IAsyncDisposable
    {
        public int Port { get; } = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;

        public string Address => $"http://127.0.0.1:{Port}";

        public static async Task<MeshHost> StartAsync(
            Action<IServiceCollection> services, Action<WebApplication> map, Action<WebApplicationBuilder>? configure = null)
        {
            var builder = WebApplication.CreateBuilder();
            // Nothing from the test's folder or environment (the generator's appsettings.json pins ports).
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection();
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            builder.AddServiceDefaults();
            configure?.Invoke(builder);
            services(builder.Services);
            builder.Services.AddGrpc();
            var app = builder.Build();
            map(app);
            await app.StartAsync();
            return new MeshHost(app);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class DeadlineRecordingTokenizer : Contracts.V1.Tokenizer.TokenizerBase
    {
        public const string NeverAnswer = "never answer";

        public DateTime LastDeadline { get; private set; }

        public DateTime LastReceived { get; private set; }

        /// <summary>When a call that never answers saw its caller give up.</summary>
        public TaskCompletionSource<DateTime> Abandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<EncodeResponse> Encode(EncodeRequest request, ServerCallContext context)
        {
            LastReceived = DateTime.UtcNow;
            LastDeadline = context.Deadline;
            if (request.Text == NeverAnswer)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    Abandoned.TrySetResult(DateTime.UtcNow);
                }
            }
            return new EncodeResponse();
        }
    }

    /// <summary>An encoder that asks the tokenizer, passing on nothing but its own call's cancellation.</summary>
    private sealed class RelayingEncoder(Contracts.V1.Tokenizer.TokenizerClient tokenizer) : Encoder.EncoderBase
    {
        public override async Task<EncodeTextsResponse> Encode(EncodeTextsRequest request, ServerCallContext context)
        {
            await tokenizer.EncodeAsync(new EncodeRequest { Text = request.Texts[0] }, cancellationToken: context.CancellationToken);
            return new EncodeTextsResponse();
        }
    }

    /// <summary>A generation that sends one chunk and then nothing, until its call ends.</summary>
    private sealed class QuietGenerator : Contracts.V1.Generator.GeneratorBase
    {
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
        {
            try
            {
                await responseStream.WriteAsync(new GenerateResponse { Chunk = new GenerateChunk { Text = "a" } }, context.CancellationToken);
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            finally
            {
                Ended.TrySetResult();
            }
        }
    }

    /// <summary>
    /// A TCP relay that can stop passing bytes while keeping both connections open: a peer that
    /// vanished behind a NAT or a dead link, which neither side hears about from TCP.
    /// </summary>
    private sealed class BlackholingProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _sockets = [];
        private readonly Task _accepting;
        private readonly List<(int Count, TaskCompletionSource Reached)> _pingWaits = [];
        private volatile bool _silent;
        private int _pingAcks;

        private BlackholingProxy(int targetPort)
        {
            _listener.Start();
            _accepting = AcceptAsync(targetPort);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static BlackholingProxy Start(int targetPort) => new(targetPort);

        public void GoSilent() => _silent = true;

        /// <summary>Completes once <paramref name="count"/> HTTP/2 PING acknowledgements (either direction) have been relayed.</summary>
        public Task PingAcknowledgements(int count)
        {
            lock (_pingWaits)
            {
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_pingAcks >= count)
                {
                    reached.SetResult();
                }
                else
                {
                    _pingWaits.Add((count, reached));
                }
                return reached.Task;
            }
        }

        private void OnPingAck()
        {
            lock (_pingWaits)
            {
                _pingAcks++;
                _pingWaits.RemoveAll(w => w.Count <= _pingAcks && w.Reached.TrySetResult());
            }
        }

        private async Task AcceptAsync(int targetPort)
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptSocketAsync(_stop.Token);
                    var target = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await target.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token);
                    lock (_sockets)
                    {
                        _sockets.Add(client);
                        _sockets.Add(target);
                    }
                    _ = RelayAsync(client, target, new Http2FrameScanner(Http2FrameScanner.ClientPrefaceLength, OnPingAck));
                    _ = RelayAsync(target, client, new Http2FrameScanner(0, OnPingAck));
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task RelayAsync(Socket from, Socket to, Http2FrameScanner scanner)
        {
            var buffer = new byte[16384];
            try
            {
                int read;
                while ((read = await from.ReceiveAsync(buffer, _stop.Token)) > 0)
                {
                    if (!_silent)
                    {
                        scanner.Scan(buffer.AsSpan(0, read));
                        await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            lock (_sockets)
            {
                _sockets.ForEach(socket => socket.Dispose());
            }
            _stop.Dispose();
        }
    }

    /// <summary>Follows the HTTP/2 frames of one direction of a connection and reports each PING acknowledgement.</summary>
    private sealed class Http2FrameScanner(int prefaceLength, Action onPingAck)
    {
        public const int ClientPrefaceLength = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        private const int HeaderLength = 9;
        private const byte PingType = 0x6;
        private const byte AckFlag = 0x1;
        private readonly byte[] _header = new byte[HeaderLength];
        private int _skip = prefaceLength;
        private int _headerRead;

        public void Scan(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                if (_skip > 0)
                {
                    var skipped = Math.Min(_skip, bytes.Length);
                    _skip -= skipped;
                    bytes = bytes[skipped..];
                    continue;
                }
                var take = Math.Min(HeaderLength - _headerRead, bytes.Length);
                bytes[..take].CopyTo(_header.AsSpan(_headerRead));
                _headerRead += take;
                bytes = bytes[take..];
                if (_headerRead < HeaderLength)
                {
                    return;
                }
                _headerRead = 0;
                _skip = (_header[0] << 16) | (_header[1] << 8) | _header[2];
                if (_header[3] == PingType && (_header[4] & AckFlag) != 0)
                {
                    onPingAck();
                }
            }
        }
    }
}
