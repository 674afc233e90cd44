using LlmMesh.Serving.Backends;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;

namespace LlmMesh.Serving.Hosting;

/// <summary>What every serving service's gRPC layer shares: model info and loading.</summary>
public static class ServingGrpc
{
    /// <summary>The model a request names: its bundle version when set, else its model reference.</summary>
    public static string Reference(string bundleVersion, string model) => bundleVersion.Length > 0 ? bundleVersion : model;

    /// <summary>
    /// GetModelInfo: the model a reference names (empty = the default model's current version,
    /// UNAVAILABLE until it is loaded), described by <paramref name="describe"/>, with what the service holds.
    /// </summary>
    public static async Task<ModelInfo> GetModelInfoAsync<TModel>(
        ModelHost<TModel> host, string model, Func<ModelLease<TModel>, ModelInfo> describe, CancellationToken cancellationToken)
        where TModel : IServingModel
    {
        using var lease = model.Length == 0 ? host.Acquire() : await host.AcquireAsync(model, cancellationToken);
        var info = describe(lease);
        info.Instance = host.Instance;
        info.ResidentModels.AddRange(host.Resident().Select(r => new Contracts.V1.ResidentModel
        {
            Model = r.Loaded.Model,
            BundleVersion = r.Loaded.Version,
            LoadedAt = r.Loaded.LoadedAt.ToString("O"),
            ActiveRequests = r.Loaded.Version == lease.Info.Version ? r.ActiveRequests - 1 : r.ActiveRequests,
            Serving = r.Serving,
        }));
        return info;
    }

    /// <summary>LoadModel: loads a bundle (or what a model reference names), serves it for its model and describes it.</summary>
    public static async Task<ModelInfo> LoadModelAsync<TModel>(
        ModelHost<TModel> host, LoadModelRequest request, Func<ModelLease<TModel>, ModelInfo> describe, CancellationToken cancellationToken)
        where TModel : IServingModel
    {
        var reference = Reference(request.BundleVersion, request.Model);
        var loaded = await host.LoadAsync(reference.Length == 0 ? null : reference, cancellationToken);
        return await GetModelInfoAsync(host, loaded.Version, describe, cancellationToken);
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
            Model = loaded.Model,
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

    private static SamplingDefaults ToContract(RecommendedSampling sampling) => new()
    {
        Temperature = sampling.Temperature, TopP = sampling.TopP, MinP = sampling.MinP, LatentTemperature = sampling.LatentTemperature, BestOf = sampling.BestOf,
        LmWeight = sampling.LmWeight,
    };
}
