using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Batching;
using TorchSharp;

namespace LlmMesh.Serving.Torch;

/// <summary>A bundle's TorchSharp weights, run by libtorch with <paramref name="threads"/> intra-op threads.</summary>
public sealed class TorchModelBackend : IModelBackend
{
    private readonly int _threads;

    public TorchModelBackend(int threads)
    {
        _threads = threads;
        PrepareThread();
    }

    public ModelBackend Kind => ModelBackend.Torch;

    public ISentenceEncoder LoadEncoder(ModelBundle bundle) => new TorchSentenceEncoder(BundleModules.LoadVae(bundle));

    public IDecoderStep LoadDecoderStep(ModelBundle bundle) => new TorchDecoderStep(BundleModules.LoadVae(bundle));

    public ILatentCodeGenerator LoadLatentGenerator(ModelBundle bundle) => new TorchLatentGenerator(BundleModules.LoadLatentGenerator(bundle));

    public ILatentCritic LoadCritic(ModelBundle bundle) => new TorchLatentCritic(BundleModules.LoadCritic(bundle));

    public ISentenceClassifier LoadFluencyClassifier(ModelBundle bundle) => new TorchSentenceClassifier(BundleModules.LoadTextDiscriminator(bundle));

    public void PrepareThread() => torch.set_num_threads(_threads);
}
