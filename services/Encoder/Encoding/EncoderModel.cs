using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Encoder.Encoding;

/// <summary>The VAE encoder of one bundle.</summary>
public sealed class EncoderModel(SentenceVae vae, ModelBundle bundle) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public VaeConfig Config => vae.Config;

    /// <summary>Posterior parameters for a batch of token sequences (each non-empty).</summary>
    public (float[][] Mu, float[][] LogVar) Encode(IReadOnlyList<int[]> sentences)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var batcher = new SentenceBatcher(sentences, sentences.Count, vae.Config);
        using var batch = batcher.Build(Enumerable.Range(0, sentences.Count).ToArray());
        var (mu, logVar) = vae.Encode(batch.Tokens, batch.Lengths);
        return (Rows(mu), Rows(logVar));
    }

    private static float[][] Rows(Tensor matrix)
    {
        var width = (int)matrix.shape[1];
        var data = matrix.data<float>().ToArray();
        return Enumerable.Range(0, data.Length / width).Select(r => data.AsSpan(r * width, width).ToArray()).ToArray();
    }

    public void Dispose() => vae.Dispose();
}

public sealed class EncoderModelLoader : IModelLoader<EncoderModel>
{
    public EncoderModelLoader(IOptions<EncoderOptions> options) => torch.set_num_threads(options.Value.Threads);

    public IReadOnlyList<string> Kinds => VaeBundle.KindsWithVae;

    public EncoderModel Load(ModelBundle bundle)
    {
        var model = new EncoderModel(VaeBundle.Load(bundle), bundle);
        model.Encode([[4, 5, 6], [7, 8]]); // warm up before taking requests
        return model;
    }
}
