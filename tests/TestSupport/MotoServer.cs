using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace LlmMesh.TestSupport;

/// <summary>
/// A private S3-compatible server for tests: moto's <c>moto_server</c> on a free loopback port
/// (installed by scripts/prereqs.sh), with one bucket. Tests isolate their data by key prefix.
/// </summary>
public sealed class MotoServer : IAsyncDisposable
{
    public const string AccessKey = "llmmesh-test";
    public const string SecretKey = "llmmesh-test-secret";
    public const string Region = "us-east-1";

    private readonly Process _process;

    private MotoServer(Process process, string serviceUrl, string bucket)
    {
        _process = process;
        ServiceUrl = serviceUrl;
        Bucket = bucket;
    }

    public string ServiceUrl { get; }

    public string Bucket { get; }

    public static async Task<MotoServer> StartAsync(string bucket = "llmmesh-models")
    {
        var port = FreePort();
        var start = new ProcessStartInfo("moto_server", ["-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("moto_server is not installed: run scripts/prereqs.sh (it installs moto[server])", ex);
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new MotoServer(process, $"http://127.0.0.1:{port}", bucket);
        try
        {
            await server.WaitUntilAnsweringAsync();
            using var client = server.CreateClient();
            await client.PutBucketAsync(bucket);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public IAmazonS3 CreateClient() => new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonS3Config { ServiceURL = ServiceUrl, ForcePathStyle = true, AuthenticationRegion = Region });

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"moto_server exited with code {_process.ExitCode}");
            }
            try
            {
                using var response = await http.GetAsync(ServiceUrl + "/moto-api/");
                return;
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
            catch (TaskCanceledException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
