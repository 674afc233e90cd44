using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>Loads a verified bundle's networks on TorchSharp; weights that do not fit the stored architecture are refused.</summary>
public static class BundleModules
{
    public static SentenceVae LoadVae(ModelBundle bundle) =>
        Load(bundle, VaeBundle.WeightsFile, () => new SentenceVae(VaeBundle.ReadConfig(bundle)));

    public static LatentGenerator LoadLatentGenerator(ModelBundle bundle) =>
        Load(bundle, AraeBundle.LatentGeneratorFile, () => new LatentGenerator(bundle.Manifest.GetHyperparameters<LatentGanConfig>("latent_gan")));

    public static LatentCritic LoadCritic(ModelBundle bundle) =>
        Load(bundle, AraeBundle.CriticFile, () => new LatentCritic(bundle.Manifest.GetHyperparameters<LatentGanConfig>("latent_gan")));

    public static TextDiscriminator LoadTextDiscriminator(ModelBundle bundle) =>
        Load(bundle, AraeBundle.TextDiscriminatorFile, () => new TextDiscriminator(bundle.Manifest.GetHyperparameters<TextDiscriminatorConfig>("text_discriminator")));

    private static T Load<T>(ModelBundle bundle, string file, Func<T> create) where T : TorchSharp.torch.nn.Module
    {
        BundleFiles.Require(bundle, file);
        T? module = null;
        try
        {
            module = create();
            module.load(bundle.PathOf(file), strict: true);
            module.eval();
            return module;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            module?.Dispose();
            throw new BundleIncompatibleException(bundle.Version, $"{file} does not fit the model in manifest.json ({ex.Message})");
        }
    }
}
