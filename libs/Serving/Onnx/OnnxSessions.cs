using LlmMesh.ModelStore;
using Microsoft.ML.OnnxRuntime;

namespace LlmMesh.Serving.Onnx;

public static class OnnxSessions
{
    /// <summary>A session for one request at a time per thread: <paramref name="threads"/> intra-op threads, no inter-op pool.</summary>
    public static InferenceSession Open(string model, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        return new InferenceSession(model, options);
    }

    /// <summary>The path of an exported graph in a bundle, or why the ONNX backend cannot serve the bundle.</summary>
    public static string GraphPath(ModelBundle bundle, string file) => bundle.Manifest.Files.ContainsKey(file)
        ? bundle.PathOf(file)
        : throw new BundleIncompatibleException(bundle.Version, $"it has no {file} (published before its ONNX export): serve it with the Torch backend");

    internal static int Width(NodeMetadata metadata) => checked((int)metadata.Dimensions[1]);
}
