using LlmMesh.Serving.Backends;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;

namespace LlmMesh.Serving.Hosting;

/// <summary>What every serving service's gRPC layer shares: model info and loading.</summary>
public static class ServingGrpc
{
    /// <summary>GetModelInfo: the current model, described by <paramref name="describe"/>.</summary>
    public static ModelInfo GetModelInfo<TModel>(ModelHost<TModel> host, Func<ModelLease<TModel>, ModelInfo> describe)
        where TModel : IServingModel
    {
        using var lease = host.Acquire();
        return describe(lease);
    }

    /// <summary>LoadModel: switches to a stored bundle (empty = the newest) and describes it.</summary>
    public static async Task<ModelInfo> LoadModelAsync<TModel>(
        ModelHost<TModel> host, LoadModelRequest request, Func<ModelLease<TModel>, ModelInfo> describe, CancellationToken cancellationToken)
        where TModel : IServingModel
    {
        await host.LoadAsync(request.BundleVersion.Length == 0 ? null : request.BundleVersion, cancellationToken);
        return GetModelInfo(host, describe);
    }

    /// <summary>Model info of a lease's model; active requests exclude the lease asking.</summary>
    public static ModelInfo ToModelInfo<TModel>(this ModelLease<TModel> lease, int vocabularySize, int latentSize, ModelBackend backend)
        where TModel : IServingModel
    {
        var loaded = lease.Info;
        var manifest = loaded.Bundle.Manifest;
        var info = new ModelInfo
        {
            BundleVersion = loaded.Version,
            Kind = manifest.Kind,
            VocabularyVersion = manifest.TokenizerVersion,
            CreatedAt = manifest.CreatedAt.ToString("O"),
            LoadedAt = loaded.LoadedAt.ToString("O"),
            RunId = manifest.RunId,
            VocabularySize = vocabularySize,
            LatentSize = latentSize,
            HyperparametersJson = manifest.Hyperparameters.ToJsonString(),
            Backend = backend.ToString().ToLowerInvariant(),
            ActiveRequests = lease.ActiveLeases - 1,
            SamplingDefaults = ToContract(RecommendedSampling.Read(manifest)),
        };
        info.Metrics.Add(manifest.Metrics);
        return info;
    }

    private static SamplingDefaults ToContract(RecommendedSampling sampling) =>
        new() { Temperature = sampling.Temperature, TopP = sampling.TopP, MinP = sampling.MinP, LatentTemperature = sampling.LatentTemperature };
}
