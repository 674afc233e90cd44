using System.ComponentModel.DataAnnotations;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Hosting;

namespace LlmMesh.Discriminator.Scoring;

public sealed class DiscriminatorOptions
{
    public const string Section = "Discriminator";

    [Range(1, 100_000)]
    public int MaxInputs { get; set; } = 256;

    [Range(1, 1 << 20)]
    public int MaxTextBytes { get; set; } = 4096;
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

    /// <summary>Loads a bundle's critic and fluency discriminator on a backend and warms them up.</summary>
    public static DiscriminatorModel Load(ModelBundle bundle, IModelBackend backend)
    {
        var model = new DiscriminatorModel(bundle, backend.Kind, backend.LoadCritic(bundle), backend.LoadFluencyClassifier(bundle),
            AraeBundle.ReadCalibration(bundle));
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

public sealed class DiscriminatorModelLoader(IModelBackend backend) : IModelLoader<DiscriminatorModel>
{
    public IReadOnlyList<string> Kinds => [AraeBundle.Kind];

    public DiscriminatorModel Load(ModelBundle bundle) => DiscriminatorModel.Load(bundle, backend);
}
