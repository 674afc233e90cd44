using System.Globalization;
using Grpc.Core;
using LlmMesh.Contracts.V1;
using LlmMesh.ModelStore;
using LlmMesh.ModelStore.Mirroring;
using ModelsBase = LlmMesh.Contracts.V1.Models.ModelsBase;

namespace LlmMesh.Trainer.Grpc;

/// <summary>The named models of the store the trainer publishes to.</summary>
public sealed class ModelsGrpcService(ModelCatalog catalog, ServingRegistry serving, IModelStoreMirror mirror) : ModelsBase
{
    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var live = serving.Live();
        var response = new ListModelsResponse();
        response.Models.AddRange(catalog.List().Select(m => Describe(m, live)));
        return Task.FromResult(response);
    }

    public override Task<ModelDescription> GetModel(GetModelRequest request, ServerCallContext context) =>
        Task.FromResult(Describe(catalog.Get(request.Name), serving.Live()));

    public override async Task<ModelDescription> SetAlias(SetAliasRequest request, ServerCallContext context)
    {
        var model = catalog.SetAlias(request.Name, request.Alias, request.Version);
        await mirror.PushFileAsync(ModelCatalog.AliasesFile, context.CancellationToken);
        return Describe(model, serving.Live());
    }

    public override async Task<ModelDescription> DeleteVersion(DeleteVersionRequest request, ServerCallContext context)
    {
        var deleted = catalog.DeleteVersion(request.Name, request.Version, serving.ServedBy);
        await mirror.DeleteBundleAsync(deleted.Version, context.CancellationToken);
        await mirror.PushFileAsync(ModelCatalog.AliasesFile, context.CancellationToken);
        var remaining = catalog.List().FirstOrDefault(m => m.Name == request.Name);
        return remaining is null ? new ModelDescription { Name = deleted.ModelName } : Describe(remaining, serving.Live());
    }

    private static ModelDescription Describe(NamedModel model, IReadOnlyList<ServingReport> live)
    {
        var byDefault = model.Versions.Single(v => v.Version == model.Default);
        var description = new ModelDescription
        {
            Name = model.Name,
            Corpus = byDefault.Corpus,
            DefaultVersion = model.Default,
            Metrics = { byDefault.Metrics },
            Aliases = { [ModelCatalog.LatestAlias] = model.Latest },
        };
        if (model.Stable is { } stable)
        {
            description.Aliases[ModelCatalog.StableAlias] = stable;
        }
        description.Versions.AddRange(model.Versions.Select(v => new ModelVersion
        {
            Version = v.Version,
            Kind = v.Kind,
            CreatedAt = v.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            RunId = v.RunId,
            Corpus = v.Corpus,
            CorpusSha256 = v.CorpusSha256,
            VocabularyVersion = v.TokenizerVersion,
            Metrics = { v.Metrics },
            Aliases = { model.AliasesOf(v.Version) },
            ServedBy = { live.Where(r => r.Versions.Contains(v.Version)).Select(r => $"{r.Service} ({r.Instance})") },
        }));
        return description;
    }
}
