using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Sampling;
using LlmMesh.Tokenization;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// The decoder of one bundle, its latent generator when the bundle has one (ARAE), and, when the
/// model store has it, the bundle's vocabulary for local detokenization.
/// </summary>
public sealed class GeneratorModel(SentenceVae vae, ModelBundle bundle, ByteLevelBpeTokenizer? vocabulary, LatentGenerator? latentGenerator = null) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => vae.Config;

    public ByteLevelBpeTokenizer? Vocabulary => vocabulary;

    public bool HasLatentGenerator => latentGenerator is not null;

    /// <summary>Bundles with a latent GAN have a discriminator to score candidates with.</summary>
    public bool HasDiscriminator => bundle.Manifest.Kind == AraeBundle.Kind;

    public DecoderSession StartDecoding(ReadOnlySpan<float> z) => new(vae, z);

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
        vae.Dispose();
        latentGenerator?.Dispose();
    }
}

public sealed class GeneratorModelLoader : IModelLoader<GeneratorModel>
{
    private readonly VocabularyStore _vocabularies;

    public GeneratorModelLoader(IOptions<GeneratorOptions> options, IOptions<ModelStoreOptions> store, IHostEnvironment environment)
    {
        torch.set_num_threads(options.Value.Threads);
        _vocabularies = new VocabularyStore(store.Value.ResolvePath(environment.ContentRootPath));
    }

    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public GeneratorModel Load(ModelBundle bundle)
    {
        var vocabularyVersion = bundle.Manifest.TokenizerVersion;
        var vocabulary = _vocabularies.Contains(vocabularyVersion) ? _vocabularies.Load(vocabularyVersion) : null;
        var latentGenerator = bundle.Manifest.Kind == AraeBundle.Kind ? AraeBundle.LoadLatentGenerator(bundle) : null;
        var model = new GeneratorModel(VaeBundle.Load(bundle), bundle, vocabulary, latentGenerator);
        using var warmUp = model.StartDecoding(new float[model.Config.LatentSize]);
        for (var i = 0; i < 4; i++)
        {
            warmUp.Step(model.Config.BosId);
        }
        return model;
    }
}
