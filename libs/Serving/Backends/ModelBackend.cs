namespace LlmMesh.Serving.Backends;

/// <summary>What runs a serving service's networks; clients see the same contract on either.</summary>
public enum ModelBackend
{
    /// <summary>TorchSharp (libtorch): serves every bundle.</summary>
    Torch,
    /// <summary>ONNX Runtime on the graphs exported with the bundle; libtorch is never loaded.</summary>
    Onnx,
}
