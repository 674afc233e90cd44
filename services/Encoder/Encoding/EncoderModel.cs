using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;

namespace LlmMesh.Encoder.Encoding;

/// <summary>The VAE encoder of one bundle on one backend.</summary>
public sealed class EncoderModel(ModelBundle bundle, VaeConfig config, ModelBackend backend, ISentenceEncoder encoder, LatentIndex? index) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => config;

    public ModelBackend Backend => backend;

    /// <summary>The training sentences' codes (FAILED_PRECONDITION for bundles published without them).</summary>
    public LatentIndex Index => index ?? throw new BundleIncompatibleException(bundle.Version,
        $"it has no {LatentIndex.File} (it was published before Encoder.Nearest existed): train or fine-tune the model again to get one");

    /// <summary>Posterior parameters for a batch of token sequences (each non-empty).</summary>
    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences) => encoder.Encode(sentences);

    /// <summary>Loads a bundle's encoder on a backend and warms it up.</summary>
    public static EncoderModel Load(ModelBundle bundle, IModelBackend backend)
    {
        var config = VaeBundle.ReadConfig(bundle);
        var index = bundle.Manifest.Files.ContainsKey(LatentIndex.File) ? LatentIndex.Read(bundle, config.LatentSize) : null;
        var model = new EncoderModel(bundle, config, backend.Kind, backend.LoadEncoder(bundle), index);
        model.Encode([[4, 5, 6], [7, 8]]);
        return model;
    }

    public void Dispose() => encoder.Dispose();
}

public sealed class EncoderModelLoader(IModelBackend backend) : IModelLoader<EncoderModel>
{
    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public EncoderModel Load(ModelBundle bundle) => EncoderModel.Load(bundle, backend);
}
