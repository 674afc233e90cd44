using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3.Model;
using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using LlmMesh.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmMesh.Serving.Tests;

public sealed class MotoServerFixture : IAsyncLifetime
{
    public MotoServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await MotoServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The model store on S3 (moto_server): a writer's folder is pushed, readers in other folders pull
/// it and verify it; partial, corrupt and deleted objects never reach a reader's store.
/// </summary>
public sealed class S3StoreMirrorTests(MotoServerFixture moto) : IClassFixture<MotoServerFixture>, IDisposable
{
    private const string Kind = "sentence-vae";
    private readonly string _prefix = $"test-{Guid.NewGuid():N}/";
    private readonly List<string> _folders = [];
    private readonly List<S3StoreMirror> _mirrors = [];

    [Fact]
    public async Task A_published_bundle_reaches_another_machine_verified_byte_for_byte()
    {
        var (writer, writerStore) = Machine(StoreAreas.None);
        var bundle = PublishBundle(writerStore, payloadBytes: 3 << 20);
        await writer.PushBundleAsync(bundle, CancellationToken.None);

        var (reader, readerStore) = Machine(StoreAreas.Bundles);
        var pulled = await reader.PullAsync(CancellationToken.None);

        Assert.Equal([$"bundles/{bundle.Version}"], pulled.Added);
        Assert.Empty(pulled.Refused);
        var copy = readerStore.Open(bundle.Version, Kind);
        Assert.Equal(bundle.Manifest.Files, copy.Manifest.Files);
        foreach (var file in bundle.Manifest.Files.Keys.Append(BundleManifest.FileName))
        {
            Assert.Equal(File.ReadAllBytes(bundle.PathOf(file)), File.ReadAllBytes(copy.PathOf(file)));
        }
        // Nothing new: the next pull downloads nothing.
        var again = await reader.PullAsync(CancellationToken.None);
        Assert.Empty(again.Added.Concat(again.Removed).Concat(again.Refused));
    }

    [Fact]
    public async Task A_bundle_without_its_manifest_is_not_taken()
    {
        var (reader, readerStore) = Machine(StoreAreas.Bundles);
        var version = "20261130T050000Z-partial";
        using (var s3 = moto.Server.CreateClient())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = moto.Server.Bucket, Key = $"{_prefix}bundles/{version}/model.onnx", ContentBody = "half an upload" });
        }

        var pulled = await reader.PullAsync(CancellationToken.None);

        Assert.Empty(pulled.Added);
        Assert.Empty(pulled.Refused);
        Assert.Empty(readerStore.ListVersions());
    }

    [Theory]
    [InlineData(false, "does not match its sha256 in manifest.json")]
    [InlineData(true, "holds 12 bytes, its manifest.json says")]
    public async Task A_corrupt_object_is_refused_until_the_bundle_is_uploaded_again(bool resized, string reason)
    {
        var (writer, writerStore) = Machine(StoreAreas.None);
        var bundle = PublishBundle(writerStore, payloadBytes: 4096);
        await writer.PushBundleAsync(bundle, CancellationToken.None);
        using (var s3 = moto.Server.CreateClient())
        {
            var original = File.ReadAllBytes(bundle.PathOf("weights.bin"));
            var damaged = resized ? Encoding.ASCII.GetBytes("not weights!") : original.Select((b, i) => i == 100 ? (byte)(b ^ 0xFF) : b).ToArray();
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = moto.Server.Bucket, Key = $"{_prefix}bundles/{bundle.Version}/weights.bin", InputStream = new MemoryStream(damaged) });
        }

        var (reader, readerStore) = Machine(StoreAreas.Bundles);
        var refused = await reader.PullAsync(CancellationToken.None);

        var why = Assert.Single(refused.Refused);
        Assert.Contains($"bundles/{bundle.Version}", why);
        Assert.Contains("weights.bin", why);
        Assert.Contains(reason, why);
        Assert.Empty(refused.Added);
        Assert.Empty(readerStore.ListVersions());
        Assert.Empty(Directory.EnumerateDirectories(readerStore.Root)); // no temporary folder left behind
        // Not fetched again while the objects stay as they are.
        Assert.Empty((await reader.PullAsync(CancellationToken.None)).Refused);

        await writer.PushBundleAsync(bundle, CancellationToken.None);
        var repaired = await reader.PullAsync(CancellationToken.None);
        Assert.Equal([$"bundles/{bundle.Version}"], repaired.Added);
        Assert.Equal(bundle.Manifest.Files, readerStore.Open(bundle.Version, Kind).Manifest.Files);
    }

    [Fact]
    public async Task A_deleted_bundle_leaves_every_reader_and_aliases_follow_the_writer()
    {
        // The trainer pulls bundles too (a new trainer volume starts from the bucket's).
        var (writer, writerStore) = Machine(StoreAreas.Bundles);
        var first = PublishBundle(writerStore, payloadBytes: 1024, runId: "first");
        var second = PublishBundle(writerStore, payloadBytes: 1024, runId: "second");
        await writer.PushBundleAsync(first, CancellationToken.None);
        await writer.PushBundleAsync(second, CancellationToken.None);
        var writerCatalog = new ModelCatalog(writerStore);
        writerCatalog.SetAlias("coco", ModelCatalog.StableAlias, first.Version);
        await writer.PushFileAsync(ModelCatalog.AliasesFile, CancellationToken.None);

        var (reader, readerStore) = Machine(StoreAreas.Bundles);
        await reader.PullAsync(CancellationToken.None);
        var readerCatalog = new ModelCatalog(readerStore);
        Assert.Equal([first.Version, second.Version], readerStore.ListVersions());
        Assert.Equal(first.Version, readerCatalog.Get("coco").Stable);

        writerCatalog.SetAlias("coco", ModelCatalog.StableAlias, second.Version);
        await writer.PushFileAsync(ModelCatalog.AliasesFile, CancellationToken.None);
        writerStore.Delete(first.Version);
        await writer.DeleteBundleAsync(first.Version, CancellationToken.None);
        var pulled = await reader.PullAsync(CancellationToken.None);

        Assert.Equal([$"bundles/{first.Version}"], pulled.Removed);
        Assert.Equal([second.Version], readerStore.ListVersions());
        Assert.Equal(second.Version, new ModelCatalog(readerStore).Get("coco").Stable);

        // The writer's own bundle that is not uploaded yet is not taken for a deleted one.
        var third = PublishBundle(writerStore, payloadBytes: 1024, runId: "third");
        Assert.Empty((await writer.PullAsync(CancellationToken.None)).Removed);
        Assert.Contains(third.Version, writerStore.ListVersions());
    }

    [Fact]
    public async Task Vocabularies_and_the_active_marker_are_shared_and_checked()
    {
        var (writer, writerRoot) = Folder(StoreAreas.None);
        var version = "0123456789abcdef";
        var vocabulary = Directory.CreateDirectory(Path.Combine(writerRoot, "tokenizer", version)).FullName;
        File.WriteAllText(Path.Combine(vocabulary, "vocab.json"), """{"a":0,"b":1}""");
        File.WriteAllText(Path.Combine(vocabulary, "merges.txt"), "#version: 0.2\na b\n");
        File.WriteAllText(Path.Combine(writerRoot, "tokenizer", "ACTIVE"), version + "\n");
        await writer.PushVocabularyAsync(version, CancellationToken.None);
        await writer.PushFileAsync(S3StoreMirror.ActiveVocabularyFile, CancellationToken.None);

        var (reader, readerRoot) = Folder(StoreAreas.Vocabularies);
        var pulled = await reader.PullAsync(CancellationToken.None);

        Assert.Equal([$"tokenizer/{version}", S3StoreMirror.ActiveVocabularyFile], pulled.Added);
        Assert.Equal(File.ReadAllBytes(Path.Combine(vocabulary, "merges.txt")), File.ReadAllBytes(Path.Combine(readerRoot, "tokenizer", version, "merges.txt")));
        Assert.Equal(version + "\n", File.ReadAllText(Path.Combine(readerRoot, "tokenizer", "ACTIVE")));
        Assert.False(File.Exists(Path.Combine(readerRoot, "tokenizer", version, S3StoreMirror.ListingFile)));

        // A vocabulary whose file changed in the bucket is refused.
        var other = "fedcba9876543210";
        Directory.CreateDirectory(Path.Combine(writerRoot, "tokenizer", other));
        File.WriteAllText(Path.Combine(writerRoot, "tokenizer", other, "vocab.json"), """{"x":0}""");
        await writer.PushVocabularyAsync(other, CancellationToken.None);
        using (var s3 = moto.Server.CreateClient())
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = moto.Server.Bucket, Key = $"{_prefix}tokenizer/{other}/vocab.json", ContentBody = """{"y":0}""" });
        }
        var refused = await reader.PullAsync(CancellationToken.None);
        Assert.Contains("vocab.json does not match its sha256 in listing.json", Assert.Single(refused.Refused));
        Assert.False(Directory.Exists(Path.Combine(readerRoot, "tokenizer", other)));
    }

    [Fact]
    public async Task Serving_reports_reach_the_trainer_and_leave_with_their_process()
    {
        var (replica, replicaStore) = Machine(StoreAreas.Bundles);
        var (trainer, trainerStore) = Machine(StoreAreas.ServingReports);
        var replicaRegistry = new ServingRegistry(replicaStore, TimeProvider.System);
        replicaRegistry.Report("generator", "generator-2", ["20261130T050000Z-abc"]);
        await replica.PushFileAsync(ServingRegistry.RelativePathOf("generator-2"), CancellationToken.None);

        await trainer.PullAsync(CancellationToken.None);
        var trainerRegistry = new ServingRegistry(trainerStore, TimeProvider.System);
        Assert.Equal("generator (generator-2)", trainerRegistry.ServedBy("20261130T050000Z-abc"));

        replicaRegistry.Withdraw("generator-2");
        await replica.PushFileAsync(ServingRegistry.RelativePathOf("generator-2"), CancellationToken.None);
        var pulled = await trainer.PullAsync(CancellationToken.None);
        Assert.Equal(["serving/generator-2.json"], pulled.Removed);
        Assert.Null(trainerRegistry.ServedBy("20261130T050000Z-abc"));
    }

    [Theory]
    [InlineData("", "MyBucket", "ModelStore:S3: Bucket must be an S3 bucket name")]
    [InlineData("", "", "ModelStore:S3: The Bucket field is required.")]
    [InlineData("not a url", "models", "ModelStore:S3:ServiceUrl 'not a url' is not an absolute URL")]
    public void The_S3_backend_refuses_incomplete_settings_at_start(string serviceUrl, string bucket, string message)
    {
        var options = new ModelStoreOptions
        {
            Path = "store",
            Backend = ModelStoreBackend.S3,
            S3 = new S3StoreOptions { ServiceUrl = serviceUrl, Bucket = bucket, AccessKey = "a", SecretKey = "b" },
        };
        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(message, results.Select(r => r.ErrorMessage));
        var disk = new ModelStoreOptions { Path = "store" };
        Assert.True(Validator.TryValidateObject(disk, new ValidationContext(disk), [], validateAllProperties: true));
    }

    public void Dispose()
    {
        foreach (var mirror in _mirrors)
        {
            mirror.Dispose();
        }
        foreach (var folder in _folders)
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A process on a machine of its own: a store folder and a mirror over this test's prefix.</summary>
    private (S3StoreMirror Mirror, ModelBundleStore Store) Machine(StoreAreas pulled)
    {
        var (mirror, root) = Folder(pulled);
        return (mirror, new ModelBundleStore(root));
    }

    private (S3StoreMirror Mirror, string Root) Folder(StoreAreas pulled)
    {
        var root = Directory.CreateTempSubdirectory("llmmesh-s3-").FullName;
        _folders.Add(root);
        var mirror = new S3StoreMirror(root, new S3StoreOptions
        {
            ServiceUrl = moto.Server.ServiceUrl,
            Bucket = moto.Server.Bucket,
            Prefix = _prefix,
            AccessKey = MotoServer.AccessKey,
            SecretKey = MotoServer.SecretKey,
        }, pulled, NullLogger.Instance);
        _mirrors.Add(mirror);
        return (mirror, root);
    }

    private static ModelBundle PublishBundle(ModelBundleStore store, int payloadBytes, string runId = "s3test")
    {
        var payload = RandomNumberGenerator.GetBytes(payloadBytes);
        return store.Publish(BundleManifest.For(Kind, new BundleOrigin(runId, "coco", "coco", "abc", "0123456789abcdef")), directory =>
        {
            File.WriteAllBytes(Path.Combine(directory, "weights.bin"), payload);
            File.WriteAllText(Path.Combine(directory, "config.json"), """{"latent":8}""");
        });
    }
}
