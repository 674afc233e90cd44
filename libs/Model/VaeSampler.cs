using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>Batched ancestral sampling from the decoder (evaluation and training negatives; serving samples in C#).</summary>
public static class VaeSampler
{
    /// <summary>
    /// Decodes each row of <paramref name="z"/> [B, L] until &lt;eos&gt; or <paramref name="maxTokens"/>:
    /// temperature (0 = greedy), then nucleus (<paramref name="topP"/> &lt; 1) and min-p
    /// (<paramref name="minP"/> &gt; 0) truncation, in the serving sampler's order.
    /// </summary>
    public static int[][] Sample(SentenceVae vae, Tensor z, int maxTokens, double temperature, Generator random, double topP = 1, double minP = 0)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        vae.eval();
        var config = vae.Config;
        var count = (int)z.shape[0];
        var state = vae.InitialState(z);
        var token = full(count, config.BosId, ScalarType.Int64);
        var banned = tensor(new long[] { config.PadId, config.BosId, config.UnkId });
        var sequences = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        var finished = new bool[count];
        for (var step = 0; step < maxTokens && finished.Any(f => !f); step++)
        {
            (var logits, state) = vae.DecodeStep(token, state, z);
            logits.index_fill_(1, banned, double.NegativeInfinity);
            token = temperature <= 0
                ? logits.argmax(1)
                : multinomial(Truncate(nn.functional.softmax(logits / temperature, 1), topP, minP), 1, generator: random).squeeze(1);
            var ids = token.data<long>().ToArray();
            for (var i = 0; i < count; i++)
            {
                if (finished[i])
                {
                    continue;
                }
                if (ids[i] == config.EosId)
                {
                    finished[i] = true;
                }
                else
                {
                    sequences[i].Add((int)ids[i]);
                }
            }
        }
        return sequences.Select(s => s.ToArray()).ToArray();
    }

    /// <summary>Zeroes the probabilities [B, V] outside the nucleus and below min-p times each row's maximum.</summary>
    internal static Tensor Truncate(Tensor probabilities, double topP, double minP)
    {
        if (topP < 1)
        {
            var (sorted, order) = probabilities.sort(1, descending: true);
            // Keep a token while the mass before it is below top_p (the most likely one always stays).
            var before = sorted.cumsum(1) - sorted;
            var outside = before.ge(topP);
            probabilities = probabilities.scatter(1, order, sorted.masked_fill(outside, 0));
        }
        if (minP > 0)
        {
            var floor = probabilities.amax([1], keepdim: true) * minP;
            probabilities = probabilities.masked_fill(probabilities.lt(floor), 0);
        }
        return probabilities;
    }
}
