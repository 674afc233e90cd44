using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Integration.Tests;

/// <summary>
/// One client, unchanged, against the mesh on ONNX Runtime and a second host on TorchSharp serving
/// the same bundle: same codes, scores and text.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class BackendSwapTests(MeshFixture mesh)
{
    private static readonly string[] Texts = ["a man riding a horse on a beach", "two dogs play in the snow", "a plate of food on a table"];

    [Fact]
    public async Task The_same_client_gets_the_same_answers_from_the_torch_and_onnx_backends()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var version = await mesh.TrainTinyModelAsync(seed: 31, timeout.Token, adversarialSteps: 100, steps: 150);
        var onnx = await ObserveAsync(mesh.Channel, version, timeout.Token);

        var torchData = Directory.CreateTempSubdirectory("llmmesh-swap-").FullName;
        try
        {
            CopyDirectory(Path.Combine(mesh.DataDirectory, "models"), Path.Combine(torchData, "models"));
            await using var torchHost = await MeshFixture.StartAsync(torchData, "Torch", timeout.Token);
            var channels = new List<GrpcChannel>();
            try
            {
                GrpcChannel Channel(string resource)
                {
                    channels.Add(GrpcChannel.ForAddress(torchHost.GetEndpoint(resource, "grpc")));
                    return channels[^1];
                }
                var torch = await ObserveAsync(Channel, version, timeout.Token);

                Assert.Equal(["onnx", "onnx", "onnx"], onnx.Backends);
                Assert.Equal(["torch", "torch", "torch"], torch.Backends);
                Assert.Equal(onnx.Codes.Length, torch.Codes.Length);
                Assert.InRange(Difference(onnx.Codes, torch.Codes), 0, 1e-4);
                Assert.InRange(Difference([onnx.Scores], [torch.Scores]), 0, 1e-4);
                Assert.Equal(torch.Texts, onnx.Texts);
                Assert.All(onnx.Texts, text => Assert.NotEmpty(text));
            }
            finally
            {
                channels.ForEach(c => c.Dispose());
                await torchHost.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            Directory.Delete(torchData, recursive: true);
        }

        foreach (var executable in new[] { "LlmMesh.Encoder", "LlmMesh.Generator", "LlmMesh.Discriminator" })
        {
            using var service = mesh.ServiceProcess(executable);
            var libraries = File.ReadAllText($"/proc/{service.Id}/maps");
            Assert.Contains("libonnxruntime", libraries);
            Assert.DoesNotContain("libtorch", libraries);
        }
    }

    private sealed record Observation(string[] Backends, float[][] Codes, float[] Scores, string[] Texts);

    /// <summary>What a plain contract client sees from a host serving <paramref name="version"/>.</summary>
    private static async Task<Observation> ObserveAsync(Func<string, GrpcChannel> channel, string version, CancellationToken cancellationToken)
    {
        var encoder = new Encoder.EncoderClient(channel("encoder"));
        var generator = new Generator.GeneratorClient(channel("generator"));
        var discriminator = new Discriminator.DiscriminatorClient(channel("discriminator"));
        var infos = new[]
        {
            await LoadAsync(() => encoder.LoadModelAsync(new LoadModelRequest { BundleVersion = version }, cancellationToken: cancellationToken).ResponseAsync, cancellationToken),
            await LoadAsync(() => generator.LoadModelAsync(new LoadModelRequest { BundleVersion = version }, cancellationToken: cancellationToken).ResponseAsync, cancellationToken),
            await LoadAsync(() => discriminator.LoadModelAsync(new LoadModelRequest { BundleVersion = version }, cancellationToken: cancellationToken).ResponseAsync, cancellationToken),
        };
        Assert.All(infos, info => Assert.Equal(version, info.BundleVersion));

        var encoded = await encoder.EncodeAsync(new EncodeTextsRequest { Texts = { Texts }, Seed = 5, BundleVersion = version }, cancellationToken: cancellationToken);
        var codes = encoded.Codes.SelectMany(c => new[] { c.Mu.ToArray(), c.Logvar.ToArray(), c.Z.ToArray() }).ToArray();

        var batch = new ScoreBatchRequest { BundleVersion = version };
        batch.Inputs.AddRange(Texts.Select(t => new ScoreInput { Text = t }));
        batch.Inputs.Add(new ScoreInput { Latent = new LatentVector { Values = { encoded.Codes[0].Z } } });
        var scored = await discriminator.ScoreBatchAsync(batch, cancellationToken: cancellationToken);
        var scores = scored.Results.SelectMany(r => new[] { (float)r.Score, (float)r.Fluency, (float)r.Probability }).ToArray();

        var texts = new List<string>();
        foreach (var request in new[]
        {
            new GenerateRequest { Prompt = Texts[0], Variation = 0, Temperature = 0, MaxTokens = 16, Seed = 3 },
            new GenerateRequest { Temperature = 0, MaxTokens = 16, Seed = 4 },
            new GenerateRequest { LatentSource = LatentSource.Prior, Temperature = 0, MaxTokens = 16, Seed = 6 },
        })
        {
            using var call = generator.Generate(request, cancellationToken: cancellationToken);
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                if (response.Final is { } final)
                {
                    Assert.Equal(version, final.BundleVersion);
                    texts.Add(final.Text);
                }
            }
        }
        return new Observation(infos.Select(i => i.Backend).ToArray(), codes, scores, [.. texts]);
    }

    /// <summary>Loads the bundle, retrying while the service is still starting.</summary>
    private static async Task<ModelInfo> LoadAsync(Func<Task<ModelInfo>> load, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await load();
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static double Difference(float[][] left, float[][] right) =>
        left.Zip(right).Max(rows => rows.First.Zip(rows.Second).Max(p => Math.Abs(p.First - p.Second)));

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
