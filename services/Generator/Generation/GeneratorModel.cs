using LlmMesh.Serving.Backends;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Batching;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;
using LlmMesh.Tokenization;
using Microsoft.Extensions.Options;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// The decoder of one bundle on one backend behind its continuous batcher, its latent generator
/// when the bundle has one (ARAE), and, when the model store has it, the bundle's vocabulary for
/// local detokenization.
/// </summary>
public sealed class GeneratorModel : IServingModel
{
    private readonly IDecoderStep _decoder;
    private readonly ILatentCodeGenerator? _latentGenerator;

    private GeneratorModel(ModelBundle bundle, VaeConfig config, ModelBackend backend, ByteLevelBpeTokenizer? vocabulary,
        IDecoderStep decoder, ILatentCodeGenerator? latentGenerator, DecodeBatcher batcher)
    {
        (Bundle, Config, Backend, Vocabulary, Batcher) = (bundle, config, backend, vocabulary, batcher);
        Sampling = RecommendedSampling.Read(bundle.Manifest);
        HasLanguageModel = LanguageModelMix.IsLanguageModel(bundle);
        (_decoder, _latentGenerator) = (decoder, latentGenerator);
    }

    public ModelBundle Bundle { get; }

    public VaeConfig Config { get; }

    public ModelBackend Backend { get; }

    public ByteLevelBpeTokenizer? Vocabulary { get; }

    /// <summary>Concurrent streams share its decoder steps.</summary>
    public DecodeBatcher Batcher { get; }

    public bool HasLatentGenerator => _latentGenerator is not null;

    /// <summary>The sampling settings the bundle recommends: defaults for requests that set none.</summary>
    public RecommendedSampling Sampling { get; } = RecommendedSampling.Plain;

    /// <summary>
    /// Whether the decoder read with no code is a plain language model that can be mixed in
    /// (lm_weight): trained with codes withheld, or a plain language model itself.
    /// </summary>
    public bool HasLanguageModel { get; }

    /// <summary>The weight a sequence decodes with: 0 where the decoder ignores its code (a plain LM mixed with itself is itself).</summary>
    public double EffectiveLmWeight(double requested) => Config.UsesLatent ? requested : 0;

    /// <summary>Bundles with a latent GAN have a discriminator to score candidates with.</summary>
    public bool HasDiscriminator => Bundle.Manifest.Kind == AraeBundle.Kind;

    /// <summary>
    /// Loads a bundle's decoder (and latent generator) on a backend, puts the decoder behind a new
    /// batcher and warms it up.
    /// </summary>
    public static GeneratorModel Load(ModelBundle bundle, ByteLevelBpeTokenizer? vocabulary, IModelBackend backend,
        BatchingOptions batching, Action<int>? onStep = null)
    {
        var config = VaeBundle.ReadConfig(bundle);
        var decoder = backend.LoadDecoderStep(bundle);
        var latentGenerator = bundle.Manifest.Kind == AraeBundle.Kind ? backend.LoadLatentGenerator(bundle) : null;
        var model = new GeneratorModel(bundle, config, backend.Kind, vocabulary, decoder, latentGenerator,
            new DecodeBatcher(decoder, batching, onStep, backend.PrepareThread));
        using var warmUp = model.Batcher.JoinAsync(new float[config.LatentSize], CancellationToken.None).GetAwaiter().GetResult();
        for (var i = 0; i < 4; i++)
        {
            warmUp.StepAsync(config.BosId, CancellationToken.None).GetAwaiter().GetResult();
        }
        return model;
    }

    /// <summary>
    /// z = G(noise), the noise drawn in C# from <paramref name="random"/> (the same z on every backend)
    /// and scaled by <paramref name="latentTemperature"/>.
    /// </summary>
    public float[] GenerateLatent(SplitMixRandom random, double latentTemperature)
    {
        var generator = _latentGenerator ?? throw new InvalidOperationException("the bundle has no latent generator");
        return generator.Generate(LatentSampler.Prior(generator.NoiseSize, random, latentTemperature));
    }

    public void Dispose()
    {
        Batcher.Dispose();
        _decoder.Dispose();
        _latentGenerator?.Dispose();
    }
}

public sealed class GeneratorModelLoader : IModelLoader<GeneratorModel>
{
    private readonly VocabularyStore _vocabularies;
    private readonly IModelBackend _backend;
    private readonly BatchingOptions _batching;
    private readonly GenerationTelemetry _telemetry;

    public GeneratorModelLoader(IModelBackend backend, IOptions<BatchingOptions> batching, IOptions<ModelStoreOptions> store,
        IHostEnvironment environment, GenerationTelemetry telemetry)
    {
        _backend = backend;
        _batching = batching.Value;
        _telemetry = telemetry;
        _vocabularies = new VocabularyStore(store.Value.ResolvePath(environment.ContentRootPath));
    }

    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public GeneratorModel Load(ModelBundle bundle)
    {
        var vocabularyVersion = bundle.Manifest.TokenizerVersion;
        var vocabulary = _vocabularies.Contains(vocabularyVersion) ? _vocabularies.Load(vocabularyVersion) : null;
        return GeneratorModel.Load(bundle, vocabulary, _backend, _batching, _telemetry.RecordBatch);
    }
}
