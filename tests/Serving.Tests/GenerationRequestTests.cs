using LlmMesh.Contracts.V1;
using LlmMesh.Generator.Generation;
using LlmMesh.ModelStore;

namespace LlmMesh.Serving.Tests;

public sealed class GenerationRequestTests
{
    private static readonly RecommendedSampling Recommended = new() { Temperature = 0.85, TopP = 0.97, MinP = 0.05 };

    [Fact]
    public void Sampling_settings_a_request_leaves_unset_are_the_models_recommendation()
    {
        var sampling = GenerationRequest.From(new GenerateRequest { Seed = 1 }, new GeneratorOptions(), Recommended).Sampling;
        Assert.Equal((0.85, 0.97, 0.05), (sampling.Temperature, sampling.TopP, sampling.MinP));
        Assert.Equal((0, 1.0), (sampling.TopK, sampling.RepetitionPenalty));
    }

    [Fact]
    public void Sampling_settings_a_request_sets_win_even_when_they_turn_a_feature_off()
    {
        var request = new GenerateRequest { Seed = 1, Temperature = 0, TopP = 1, MinP = 0 };
        var sampling = GenerationRequest.From(request, new GeneratorOptions(), Recommended).Sampling;
        Assert.Equal((0.0, 1.0, 0.0), (sampling.Temperature, sampling.TopP, sampling.MinP));

        var partly = GenerationRequest.From(new GenerateRequest { Temperature = 1.2 }, new GeneratorOptions(), Recommended).Sampling;
        Assert.Equal((1.2, 0.97, 0.05), (partly.Temperature, partly.TopP, partly.MinP));
    }

    [Fact]
    public void Bundles_without_a_recommendation_sample_plainly_at_temperature_1()
    {
        var manifest = new BundleManifest { Kind = "sentence-vae", RunId = "r", CorpusSha256 = "c", TokenizerVersion = "t" };
        Assert.Equal(RecommendedSampling.Plain, RecommendedSampling.Read(manifest));
        var sampling = GenerationRequest.From(new GenerateRequest(), new GeneratorOptions(), RecommendedSampling.Read(manifest)).Sampling;
        Assert.Equal((1.0, 1.0, 0.0), (sampling.Temperature, sampling.TopP, sampling.MinP));

        manifest.Hyperparameters[RecommendedSampling.Section] = Recommended.ToJson();
        Assert.Equal(Recommended, RecommendedSampling.Read(manifest));
    }
}
