using System.ComponentModel.DataAnnotations;
using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Hosting;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmMesh.Discriminator.Scoring;

public sealed class DiscriminatorOptions
{
    public const string Section = "Discriminator";

    [Range(1, 100_000)]
    public int MaxInputs { get; set; } = 256;

    [Range(1, 1 << 20)]
    public int MaxTextBytes { get; set; } = 4096;

    [Range(1, 256)]
    public int Threads { get; set; } = 1;
}

/// <summary>The latent critic, the fluency discriminator and their calibration, from one ARAE bundle.</summary>
public sealed class DiscriminatorModel(
    ModelBundle bundle, LatentCritic critic, TextDiscriminator fluency, DiscriminatorCalibration calibration) : IServingModel
{
    public ModelBundle Bundle => bundle;

    public int LatentSize => critic.Config.LatentSize;

    public int VocabularySize => fluency.Config.VocabularySize;

    public DiscriminatorCalibration Calibration => calibration;

    public double[] CriticScores(IReadOnlyList<float[]> codes)
    {
        if (codes.Count == 0)
        {
            return [];
        }
        using var scope = NewDisposeScope();
        var batch = tensor(codes.SelectMany(c => c).ToArray(), [codes.Count, LatentSize]);
        return AraeEvaluation.CriticScores(critic, batch);
    }

    public double[] Fluency(IReadOnlyList<int[]> sentences) =>
        sentences.Count == 0 ? [] : TextDiscriminatorTraining.Score(fluency, sentences);

    public void Dispose()
    {
        critic.Dispose();
        fluency.Dispose();
    }
}

public sealed class DiscriminatorModelLoader : IModelLoader<DiscriminatorModel>
{
    public DiscriminatorModelLoader(IOptions<DiscriminatorOptions> options) => torch.set_num_threads(options.Value.Threads);

    public IReadOnlyList<string> Kinds => [AraeBundle.Kind];

    public DiscriminatorModel Load(ModelBundle bundle)
    {
        var calibration = AraeBundle.ReadCalibration(bundle);
        var critic = AraeBundle.LoadCritic(bundle);
        var model = new DiscriminatorModel(bundle, critic, AraeBundle.LoadTextDiscriminator(bundle), calibration);
        model.CriticScores([new float[model.LatentSize]]);
        model.Fluency([[4, 5, 6]]);
        return model;
    }
}
