using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Batching;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;
using LlmMesh.Tokenization;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// The decoder of one bundle behind its continuous batcher, its latent generator when the bundle
/// has one (ARAE), and, when the model store has it, the bundle's vocabulary for local detokenization.
/// </summary>
public sealed class GeneratorModel(
    SentenceVae vae, ModelBundle bundle, ByteLevelBpeTokenizer? vocabulary, DecodeBatcher batcher, LatentGenerator? latentGenerator = null) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => vae.Config;

    public ByteLevelBpeTokenizer? Vocabulary => vocabulary;

    public bool HasLatentGenerator => latentGenerator is not null;

    /// <summary>Bundles with a latent GAN have a discriminator to score candidates with.</summary>
    public bool HasDiscriminator => bundle.Manifest.Kind == AraeBundle.Kind;

    /// <summary>Puts the decoder behind a new batcher (libtorch on its step thread with <paramref name="threads"/> threads) and warms it up.</summary>
    public static GeneratorModel Create(SentenceVae vae, ModelBundle bundle, ByteLevelBpeTokenizer? vocabulary, LatentGenerator? latentGenerator,
        BatchingOptions batching, int threads, Action<int>? onStep = null)
    {
        var batcher = new DecodeBatcher(new TorchDecoderStep(vae), batching, onStep, () => torch.set_num_threads(threads));
        var model = new GeneratorModel(vae, bundle, vocabulary, batcher, latentGenerator);
        using var warmUp = batcher.JoinAsync(new float[model.Config.LatentSize], CancellationToken.None).GetAwaiter().GetResult();
        for (var i = 0; i < 4; i++)
        {
            warmUp.StepAsync(model.Config.BosId, CancellationToken.None).GetAwaiter().GetResult();
        }
        return model;
    }

    /// <summary>Concurrent streams share its decoder steps.</summary>
    public DecodeBatcher Batcher => batcher;

    /// <summary>z = G(noise), the noise drawn in C# from <paramref name="random"/> (the same z on every backend).</summary>
    public float[] GenerateLatent(SplitMixRandom random)
    {
        var generator = latentGenerator ?? throw new InvalidOperationException("the bundle has no latent generator");
        var noise = LatentSampler.Prior(generator.Config.NoiseSize, random);
        using var inference = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        generator.eval();
        return generator.call(torch.tensor(noise).reshape(1, noise.Length)).data<float>().ToArray();
    }

    public void Dispose()
    {
        batcher.Dispose();
        vae.Dispose();
        latentGenerator?.Dispose();
    }
}

public sealed class GeneratorModelLoader : IModelLoader<GeneratorModel>
{
    private readonly VocabularyStore _vocabularies;
    private readonly GeneratorOptions _options;
    private readonly BatchingOptions _batching;
    private readonly GenerationTelemetry _telemetry;

    public GeneratorModelLoader(IOptions<GeneratorOptions> options, IOptions<BatchingOptions> batching, IOptions<ModelStoreOptions> store,
        IHostEnvironment environment, GenerationTelemetry telemetry)
    {
        _options = options.Value;
        _batching = batching.Value;
        _telemetry = telemetry;
        torch.set_num_threads(_options.Threads);
        _vocabularies = new VocabularyStore(store.Value.ResolvePath(environment.ContentRootPath));
    }

    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public GeneratorModel Load(ModelBundle bundle)
    {
        var vocabularyVersion = bundle.Manifest.TokenizerVersion;
        var vocabulary = _vocabularies.Contains(vocabularyVersion) ? _vocabularies.Load(vocabularyVersion) : null;
        var latentGenerator = bundle.Manifest.Kind == AraeBundle.Kind ? AraeBundle.LoadLatentGenerator(bundle) : null;
        return GeneratorModel.Create(VaeBundle.Load(bundle), bundle, vocabulary, latentGenerator, _batching, _options.Threads, _telemetry.RecordBatch);
    }
}
