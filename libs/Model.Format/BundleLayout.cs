using System.Text.Json;
using LlmMesh.ModelStore;

namespace LlmMesh.Model;

/// <summary>The files and settings of a sentence-VAE bundle (the weights are read by LlmMesh.Model's BundleModules).</summary>
public static class VaeBundle
{
    public const string Kind = "sentence-vae";
    public const string WeightsFile = "vae.pt";

    /// <summary>Bundle kinds that hold a sentence VAE.</summary>
    public static IReadOnlyList<string> KindsWithVae { get; } = [Kind, AraeBundle.Kind];

    public static VaeConfig ReadConfig(ModelBundle bundle) => bundle.Manifest.GetHyperparameters<VaeConfig>("model");
}

/// <summary>
/// The files of an ARAE-style bundle: the sentence VAE plus the latent GAN (generator and critic),
/// the text discriminator and the calibration of their scores. Services that need only the VAE
/// read it like a sentence-VAE bundle.
/// </summary>
public static class AraeBundle
{
    public const string Kind = "arae";
    public const string LatentGeneratorFile = "latent-generator.pt";
    public const string CriticFile = "latent-critic.pt";
    public const string TextDiscriminatorFile = "text-discriminator.pt";
    public const string CalibrationFile = "calibration.json";

    public static DiscriminatorCalibration ReadCalibration(ModelBundle bundle)
    {
        BundleFiles.Require(bundle, CalibrationFile);
        try
        {
            return JsonSerializer.Deserialize<DiscriminatorCalibration>(File.ReadAllBytes(bundle.PathOf(CalibrationFile)), BundleManifest.JsonOptions)
                ?? throw new BundleCorruptException(bundle.Version, $"{CalibrationFile} is empty");
        }
        catch (JsonException ex)
        {
            throw new BundleCorruptException(bundle.Version, $"{CalibrationFile} cannot be read ({ex.Message})");
        }
    }
}

public static class BundleFiles
{
    /// <summary>Refuses a bundle without <paramref name="file"/> (one of an older format, or of another kind).</summary>
    public static void Require(ModelBundle bundle, string file)
    {
        if (!bundle.Manifest.Files.ContainsKey(file))
        {
            throw new BundleIncompatibleException(bundle.Version, $"it has no {file}");
        }
    }
}

/// <summary>The ONNX graphs exported with every bundle (LlmMesh.Model's OnnxExport writes them).</summary>
public static class OnnxGraphs
{
    /// <summary>(token [B], state [B, H], z [B, L]) -> (logits [B, V], next_state [B, H]).</summary>
    public const string DecoderStepFile = "decoder-step.onnx";
    /// <summary>z [B, L] -> the decoder's initial state [B, H].</summary>
    public const string DecoderInitFile = "decoder-init.onnx";
    public const string EncoderFile = "encoder.onnx";
    public const string LatentGeneratorFile = "latent-generator.onnx";
    public const string CriticFile = "latent-critic.onnx";
    public const string TextDiscriminatorFile = "text-discriminator.onnx";
}
