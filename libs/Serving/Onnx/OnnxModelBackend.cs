using LlmMesh.Model;
using LlmMesh.ModelStore;
using LlmMesh.Serving.Backends;
using LlmMesh.Serving.Batching;

namespace LlmMesh.Serving.Onnx;

/// <summary>The graphs exported with a bundle, on ONNX Runtime with <paramref name="threads"/> intra-op threads each.</summary>
public sealed class OnnxModelBackend(int threads) : IModelBackend
{
    public ModelBackend Kind => ModelBackend.Onnx;

    public ISentenceEncoder LoadEncoder(ModelBundle bundle) => new OnnxSentenceEncoder(OnnxSessions.GraphPath(bundle, OnnxGraphs.EncoderFile), threads);

    public IDecoderStep LoadDecoderStep(ModelBundle bundle) =>
        new OnnxDecoderStep(OnnxSessions.GraphPath(bundle, OnnxGraphs.DecoderStepFile), OnnxSessions.GraphPath(bundle, OnnxGraphs.DecoderInitFile), threads);

    public ILatentCodeGenerator LoadLatentGenerator(ModelBundle bundle) =>
        new OnnxLatentGenerator(OnnxSessions.GraphPath(bundle, OnnxGraphs.LatentGeneratorFile), threads);

    public ILatentCritic LoadCritic(ModelBundle bundle) => new OnnxLatentCritic(OnnxSessions.GraphPath(bundle, OnnxGraphs.CriticFile), threads);

    public ISentenceClassifier LoadFluencyClassifier(ModelBundle bundle) =>
        new OnnxSentenceClassifier(OnnxSessions.GraphPath(bundle, OnnxGraphs.TextDiscriminatorFile), threads);

    public void PrepareThread()
    {
    }
}
