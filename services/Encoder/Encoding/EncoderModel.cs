using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Onnx;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Encoder.Encoding;

/// <summary>The VAE encoder of one bundle on one backend.</summary>
public sealed class EncoderModel(ModelBundle bundle, VaeConfig config, ModelBackend backend, ISentenceEncoder encoder) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => config;

    public ModelBackend Backend => backend;

    /// <summary>Posterior parameters for a batch of token sequences (each non-empty).</summary>
    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences) => encoder.Encode(sentences);

    /// <summary>Loads a bundle's encoder on a backend and warms it up; the ONNX backend never touches libtorch.</summary>
    public static EncoderModel Load(ModelBundle bundle, ModelBackend backend, int threads)
    {
        ISentenceEncoder encoder = backend == ModelBackend.Onnx
            ? new OnnxSentenceEncoder(OnnxSessions.GraphPath(bundle, OnnxExport.EncoderFile), threads)
            : new TorchSentenceEncoder(VaeBundle.Load(bundle));
        var model = new EncoderModel(bundle, VaeBundle.ReadConfig(bundle), backend, encoder);
        model.Encode([[4, 5, 6], [7, 8]]);
        return model;
    }

    public void Dispose() => encoder.Dispose();
}

public sealed class EncoderModelLoader : IModelLoader<EncoderModel>
{
    private readonly EncoderOptions _options;

    public EncoderModelLoader(IOptions<EncoderOptions> options)
    {
        _options = options.Value;
        if (_options.Backend == ModelBackend.Torch)
        {
            torch.set_num_threads(_options.Threads);
        }
    }

    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public EncoderModel Load(ModelBundle bundle) => EncoderModel.Load(bundle, _options.Backend, _options.Threads);
}
