using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>
/// best_of as the discriminator service does it, in process: each candidate's calibrated
/// probability of being real text (the critic on its code and the fluency discriminator), and the
/// best of every group of candidates.
/// </summary>
public sealed class BestOfReranking(SentenceVae vae, LatentCritic critic, TextDiscriminator textDiscriminator, DiscriminatorCalibration calibration)
{
    private const int BatchSize = 500;

    /// <summary>P(real) per sentence; an empty sentence gets -1, below any candidate with text (as in the generator).</summary>
    public double[] Probabilities(IReadOnlyList<int[]> sentences)
    {
        var result = Enumerable.Repeat(-1.0, sentences.Count).ToArray();
        var scored = Enumerable.Range(0, sentences.Count).Where(i => sentences[i].Length > 0).ToArray();
        foreach (var batch in scored.Chunk(BatchSize))
        {
            using var scope = NewDisposeScope();
            var features = AraeEvaluation.TextFeatures(vae, critic, textDiscriminator, batch.Select(i => sentences[i]).ToArray());
            for (var n = 0; n < batch.Length; n++)
            {
                result[batch[n]] = calibration.Text.Probability(features[n]);
            }
        }
        return result;
    }

    /// <summary>Sample i of the result is the most probable of candidates[c][i] over c (the first on ties).</summary>
    public IReadOnlyList<int[]> Best(IReadOnlyList<IReadOnlyList<int[]>> candidates)
    {
        var probabilities = candidates.Select(Probabilities).ToArray();
        return Enumerable.Range(0, candidates[0].Count)
            .Select(i => candidates[Enumerable.Range(0, candidates.Count).MaxBy(c => probabilities[c][i])][i])
            .ToArray();
    }
}
