using System.ComponentModel.DataAnnotations;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;
using LlmMesh.Serving.Onnx;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace LlmMesh.Discriminator.Scoring;

public sealed class DiscriminatorOptions
{
    public const string Section = "Discriminator";

    [Range(1, 100_000)]
    public int MaxInputs { get; set; } = 256;

    [Range(1, 1 << 20)]
    public int MaxTextBytes { get; set; } = 4096;

    /// <summary>Torch or Onnx (the bundle's exported critic and fluency graphs, no libtorch).</summary>
    public ModelBackend Backend { get; set; } = ModelBackend.Torch;

    [Range(1, 256)]
    public int Threads { get; set; } = 1;
}

/// <summary>The latent critic, the fluency discriminator and their calibration, from one ARAE bundle, on one backend.</summary>
public sealed class DiscriminatorModel(
    ModelBundle bundle, ModelBackend backend, ILatentCritic critic, ISentenceClassifier fluency, DiscriminatorCalibration calibration) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public ModelBackend Backend => backend;

    public int LatentSize => critic.LatentSize;

    public int VocabularySize { get; } = VaeBundle.ReadConfig(bundle).VocabularySize;

    public DiscriminatorCalibration Calibration => calibration;

    public double[] CriticScores(IReadOnlyList<float[]> codes) => critic.Score(codes);

    public double[] Fluency(IReadOnlyList<int[]> sentences) => fluency.Score(sentences);

    /// <summary>Loads a bundle's critic and fluency discriminator on a backend and warms them up; the ONNX backend never touches libtorch.</summary>
    public static DiscriminatorModel Load(ModelBundle bundle, ModelBackend backend, int threads)
    {
        var calibration = AraeBundle.ReadCalibration(bundle);
        var model = backend == ModelBackend.Onnx
            ? new DiscriminatorModel(bundle, backend,
                new OnnxLatentCritic(OnnxSessions.GraphPath(bundle, OnnxExport.CriticFile), threads),
                new OnnxSentenceClassifier(OnnxSessions.GraphPath(bundle, OnnxExport.TextDiscriminatorFile), threads), calibration)
            : new DiscriminatorModel(bundle, backend,
                new TorchLatentCritic(AraeBundle.LoadCritic(bundle)), new TorchSentenceClassifier(AraeBundle.LoadTextDiscriminator(bundle)), calibration);
        model.CriticScores([new float[model.LatentSize]]);
        model.Fluency([[4, 5, 6]]);
        return model;
    }

    public void Dispose()
    {
        critic.Dispose();
        fluency.Dispose();
    }
}

public sealed class DiscriminatorModelLoader : IModelLoader<DiscriminatorModel>
{
    private readonly DiscriminatorOptions _options;

    public DiscriminatorModelLoader(IOptions<DiscriminatorOptions> options)
    {
        _options = options.Value;
        if (_options.Backend == ModelBackend.Torch)
        {
            torch.set_num_threads(_options.Threads);
        }
    }

    public IReadOnlyList<string> Kinds => [AraeBundle.Kind];

    public DiscriminatorModel Load(ModelBundle bundle) => DiscriminatorModel.Load(bundle, _options.Backend, _options.Threads);
}
