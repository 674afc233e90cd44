using LlmMesh.Model;
using LlmMesh.Serving.Onnx;

namespace LlmMesh.Serving.Tests;

/// <summary>The index a bundle is published with, against the codes a serving encoder computes.</summary>
public sealed class LatentIndexBundleTests(TinyBundleFixture fixture) : IClassFixture<TinyBundleFixture>
{
    [Fact]
    public void Every_training_sentence_finds_itself_first_through_the_served_encoder()
    {
        var bundle = fixture.Bundle;
        var index = LatentIndex.Read(bundle.Bundle, VaeBundle.ReadConfig(bundle.Bundle).LatentSize);
        using var encoder = new OnnxSentenceEncoder(bundle.Bundle.PathOf(OnnxGraphs.EncoderFile), threads: 1);
        var distinct = bundle.Lines.Distinct().Count();
        Assert.Equal(distinct, index.Count);

        var probes = Enumerable.Range(0, 40).Select(i => i * bundle.Lines.Count / 40).Where(i => bundle.Lines.Take(i).All(line => line != bundle.Lines[i])).ToArray();
        var (mu, _) = encoder.Encode(probes.Select(i => bundle.Sentences[i]).ToArray());
        for (var p = 0; p < probes.Length; p++)
        {
            var nearest = index.Nearest(mu[p], 3);
            Assert.Equal(probes[p], nearest[0].Line);
            Assert.Equal(bundle.Lines[probes[p]], nearest[0].Text);
            Assert.InRange(nearest[0].Distance, 0, 1e-3f);
            Assert.True(nearest[1].Distance >= nearest[0].Distance);
        }
    }
}
