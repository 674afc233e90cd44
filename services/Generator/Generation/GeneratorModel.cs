using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using LlmMesh.Tokenization;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Generator.Generation;

/// <summary>The decoder of one bundle and, when the model store has it, the bundle's vocabulary for local detokenization.</summary>
public sealed class GeneratorModel(SentenceVae vae, ModelBundle bundle, ByteLevelBpeTokenizer? vocabulary) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => vae.Config;

    public ByteLevelBpeTokenizer? Vocabulary => vocabulary;

    public DecoderSession StartDecoding(ReadOnlySpan<float> z) => new(vae, z);

    public void Dispose() => vae.Dispose();
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
        var model = new GeneratorModel(VaeBundle.Load(bundle), bundle, vocabulary);
        using var warmUp = model.StartDecoding(new float[model.Config.LatentSize]);
        for (var i = 0; i < 4; i++)
        {
            warmUp.Step(model.Config.BosId);
        }
        return model;
    }
}
