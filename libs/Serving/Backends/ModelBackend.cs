using System.ComponentModel.DataAnnotations;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Batching;

namespace LlmMesh.Serving.Backends;

/// <summary>What runs a serving service's networks; clients see the same contract on either.</summary>
public enum ModelBackend
{
    /// <summary>ONNX Runtime on the graphs exported with the bundle; libtorch is never loaded. The default.</summary>
    Onnx,
    /// <summary>TorchSharp (libtorch): serves every bundle, including those published before the ONNX export.</summary>
    Torch,
}

/// <summary>A serving service's backend, bound from its own section (Encoder, Generator, Discriminator).</summary>
public sealed class BackendOptions
{
    /// <summary>The AppHost sets it from LlmMesh:Backends:{service}; both default to ONNX.</summary>
    public ModelBackend Backend { get; set; } = ModelBackend.Onnx;

    /// <summary>Intra-op threads of the backend; 1 keeps concurrent requests from fighting over cores.</summary>
    [Range(1, 256)]
    public int Threads { get; set; } = 1;
}

/// <summary>One backend's networks, loaded from a verified bundle. Each service loads what it serves through it.</summary>
public interface IModelBackend
{
    ModelBackend Kind { get; }

    ISentenceEncoder LoadEncoder(ModelBundle bundle);

    IDecoderStep LoadDecoderStep(ModelBundle bundle);

    ILatentCodeGenerator LoadLatentGenerator(ModelBundle bundle);

    ILatentCritic LoadCritic(ModelBundle bundle);

    ISentenceClassifier LoadFluencyClassifier(ModelBundle bundle);

    /// <summary>Runs first on a thread that will call the networks (libtorch sizes its thread pool per thread).</summary>
    void PrepareThread();
}
