using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Batching;
using LlmMesh.Generator.Generation;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Torch;

namespace LlmMesh.Serving.Tests;

/// <summary>Loads generator models from tiny bundles with the bundle's in-memory vocabulary.</summary>
public sealed class TinyGeneratorLoader(TinyBundle bundle) : IModelLoader<GeneratorModel>
{
    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public ModelBackend Backend { get; init; } = ModelBackend.Torch;

    public GeneratorModel Load(ModelBundle loaded) => GeneratorModel.Load(loaded, bundle.Tokenizer, ModelBackends.Create(new BackendOptions { Backend = Backend }), new BatchingOptions());
}

/// <summary>A tokenizer that has every vocabulary.</summary>
public sealed class AnyVocabulary : IVocabularyCatalog
{
    public Task<bool> HasAsync(string version, CancellationToken cancellationToken) => Task.FromResult(true);
}

public sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options.Name);

    public void Dispose()
    {
    }
}
