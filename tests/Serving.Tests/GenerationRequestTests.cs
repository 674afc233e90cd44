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
    public void Best_of_left_unset_is_the_models_recommendation_for_unconditioned_requests_only()
    {
        var recommended = Recommended with { BestOf = 4 };
        GenerationRequest From(GenerateRequest request) => GenerationRequest.From(request, new GeneratorOptions(), recommended);

        Assert.Equal(4, From(new GenerateRequest { Seed = 1 }).BestOf);
        Assert.Equal(4, From(new GenerateRequest { LatentSource = LatentSource.Prior }).BestOf);
        // Set by the request, even to off; a prompt or the client's own code is not reranked unless asked.
        Assert.Equal(1, From(new GenerateRequest { BestOf = 1 }).BestOf);
        Assert.Equal(7, From(new GenerateRequest { BestOf = 7 }).BestOf);
        Assert.Equal(1, From(new GenerateRequest { Prompt = "a dog on a beach" }).BestOf);
        Assert.Equal(3, From(new GenerateRequest { Prompt = "a dog on a beach", BestOf = 3 }).BestOf);
        Assert.Equal(1, From(new GenerateRequest { Latent = { 0.5f, -0.5f } }).BestOf);
        Assert.Equal(1, GenerationRequest.From(new GenerateRequest(), new GeneratorOptions(), Recommended).BestOf);
    }

    [Fact]
    public void Lm_weight_left_unset_is_the_models_recommendation_for_unconditioned_requests_only()
    {
        var recommended = Recommended with { LmWeight = 0.7 };
        GenerationRequest From(GenerateRequest request) => GenerationRequest.From(request, new GeneratorOptions(), recommended);

        Assert.Equal(0.7, From(new GenerateRequest { Seed = 1 }).LmWeight);
        Assert.Equal(0, From(new GenerateRequest { LmWeight = 0 }).LmWeight);
        Assert.Equal(0.3, From(new GenerateRequest { LmWeight = 0.3 }).LmWeight);
        Assert.Equal(0, From(new GenerateRequest { Prompt = "a dog on a beach" }).LmWeight);
        Assert.Equal(0.5, From(new GenerateRequest { Prompt = "a dog on a beach", LmWeight = 0.5 }).LmWeight);
        Assert.Equal(0, From(new GenerateRequest { Latent = { 0.5f, -0.5f } }).LmWeight);
        Assert.Equal(0, GenerationRequest.From(new GenerateRequest(), new GeneratorOptions(), Recommended).LmWeight);
        foreach (var bad in new[] { -0.1, 1.5, double.NaN })
        {
            Assert.StartsWith("lm_weight must be in [0, 1]", Assert.Throws<ArgumentException>(() => From(new GenerateRequest { LmWeight = bad })).Message);
        }
    }

    [Fact]
    public void Bundles_without_a_recommendation_sample_plainly_at_temperature_1()
    {
        var manifest = new BundleManifest { Kind = "sentence-vae", RunId = "r", CorpusSha256 = "c", TokenizerVersion = "t" };
        Assert.Equal(RecommendedSampling.Plain, RecommendedSampling.Read(manifest));
        var sampling = GenerationRequest.From(new GenerateRequest(), new GeneratorOptions(), RecommendedSampling.Read(manifest)).Sampling;
        Assert.Equal((1.0, 1.0, 0.0), (sampling.Temperature, sampling.TopP, sampling.MinP));

        manifest.Hyperparameters[RecommendedSampling.Section] = (Recommended with { BestOf = 4 }).ToJson();
        Assert.Equal(Recommended with { BestOf = 4 }, RecommendedSampling.Read(manifest));
        // Recorded before best-of was a setting: off.
        manifest.Hyperparameters[RecommendedSampling.Section] = System.Text.Json.Nodes.JsonNode.Parse("{\"temperature\": 0.7}")!;
        Assert.Equal(1, RecommendedSampling.Read(manifest).BestOf);
        Assert.Equal(0, RecommendedSampling.Read(manifest).LmWeight);
    }
}
