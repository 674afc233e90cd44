using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>Held-out metrics of a sentence VAE.</summary>
public static class VaeEvaluation
{
    public static EvaluationMetrics Evaluate(SentenceVae model, IReadOnlyList<int[]> sentences, int batchSize, long seed)
    {
        var config = model.Config;
        var batcher = new SentenceBatcher(sentences, batchSize, config);
        model.eval();
        using var inference = inference_mode();
        using var generator = new Generator(0, CPU).manual_seed(Seeds.Derive(seed, SeedStream.VaeEvaluation, index: 0));
        double recon = 0, kl = 0, correct = 0, greedyCorrect = 0;
        long tokens = 0;
        var means = new List<float[]>();
        foreach (var plan in batcher.EvaluationPlan())
        {
            using var scope = NewDisposeScope();
            using var batch = batcher.Build(plan);
            var (mu, logVar) = model.Encode(batch.Tokens, batch.Lengths);
            var z = SentenceVae.Reparameterize(mu, logVar, generator);
            recon += VaeTrainer.ReconstructionSum(model.Decode(batch.DecoderInputs, z), batch.Targets, config.PadId).item<float>();
            kl += VaeTrainer.KlPerDimension(mu, logVar).sum().item<float>();

            var mask = batch.Targets.NotEqualTo(config.PadId);
            var predicted = model.Decode(batch.DecoderInputs, mu).argmax(2);
            correct += predicted.eq(batch.Targets).logical_and(mask).sum().item<long>();
            greedyCorrect += GreedyMatches(model, mu, batch.Targets, mask);
            tokens += batch.TokenCount;
            means.AddRange(Rows(mu));
        }
        var nll = (recon + kl) / tokens;
        return new EvaluationMetrics(
            nll, Math.Exp(nll), recon / tokens, kl / sentences.Count, correct / tokens, greedyCorrect / tokens,
            ActiveUnits(means, config.LatentSize), sentences.Count, tokens);
    }

    private static long GreedyMatches(SentenceVae model, Tensor z, Tensor targets, Tensor mask)
    {
        var steps = targets.shape[1];
        var state = model.InitialState(z);
        var token = HeldScalars.Full(z.shape[0], model.Config.BosId, ScalarType.Int64);
        var predictions = new List<Tensor>();
        for (var t = 0; t < steps; t++)
        {
            (var logits, state) = model.DecodeStep(token, state, z);
            token = logits.argmax(1);
            predictions.Add(token);
        }
        return stack(predictions, 1).eq(targets).logical_and(mask).sum().item<long>();
    }

    private static IEnumerable<float[]> Rows(Tensor matrix)
    {
        var data = matrix.data<float>().ToArray();
        var width = (int)matrix.shape[1];
        for (var row = 0; row < data.Length / width; row++)
        {
            yield return data.AsSpan(row * width, width).ToArray();
        }
    }

    /// <summary>Burda et al.'s activity: Var over sentences of E[z_d | x] above 0.01.</summary>
    private static int ActiveUnits(List<float[]> means, int latentSize)
    {
        var active = 0;
        for (var d = 0; d < latentSize; d++)
        {
            var mean = means.Average(m => m[d]);
            var variance = means.Average(m => (m[d] - mean) * (m[d] - mean));
            if (variance > 0.01)
            {
                active++;
            }
        }
        return active;
    }
}
