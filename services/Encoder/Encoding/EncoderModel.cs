using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;

namespace LlmMesh.Encoder.Encoding;

/// <summary>The VAE encoder of one bundle on one backend.</summary>
public sealed class EncoderModel(ModelBundle bundle, VaeConfig config, ModelBackend backend, ISentenceEncoder encoder) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => config;

    public ModelBackend Backend => backend;

    /// <summary>Posterior parameters for a batch of token sequences (each non-empty).</summary>
    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences) => encoder.Encode(sentences);

    /// <summary>Loads a bundle's encoder on a backend and warms it up.</summary>
    public static EncoderModel Load(ModelBundle bundle, IModelBackend backend)
    {
        var model = new EncoderModel(bundle, VaeBundle.ReadConfig(bundle), backend.Kind, backend.LoadEncoder(bundle));
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
