using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>Batched ancestral sampling from the decoder (evaluation and training negatives; serving samples in C#).</summary>
public static class VaeSampler
{
    /// <summary>Decodes each row of <paramref name="z"/> [B, L] until &lt;eos&gt; or <paramref name="maxTokens"/>.</summary>
    public static int[][] Sample(SentenceVae vae, Tensor z, int maxTokens, double temperature, Generator random)
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
                : multinomial(nn.functional.softmax(logits / temperature, 1), 1, generator: random).squeeze(1);
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
}
