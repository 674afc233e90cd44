using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LlmMesh.Model;

/// <summary>Batched ancestral sampling from the decoder (evaluation and training negatives; serving samples in C#).</summary>
public static class VaeSampler
{
    /// <summary>
    /// Decodes each row of <paramref name="z"/> [B, L] until &lt;eos&gt; or <paramref name="maxTokens"/>:
    /// temperature (0 = greedy), then nucleus (<paramref name="topP"/> &lt; 1) and min-p
    /// (<paramref name="minP"/> &gt; 0) truncation, in the serving sampler's order; with
    /// <paramref name="mix"/>, from the product of the decoder and a plain language model.
    /// </summary>
    public static int[][] Sample(SentenceVae vae, Tensor z, int maxTokens, double temperature, Generator random, double topP = 1, double minP = 0,
        LanguageModelMix? mix = null)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        vae.eval();
        var config = vae.Config;
        var count = (int)z.shape[0];
        var state = vae.InitialState(z);
        var (mixState, mixCodes) = mix is null ? (empty(0), empty(0)) : mix.Start(count);
        var token = HeldScalars.Full(count, config.BosId, ScalarType.Int64);
        var banned = tensor(new long[] { config.PadId, config.BosId, config.UnkId });
        var sequences = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        // Rows still decoding, by index into sequences; finished rows leave the batch, so a batch
        // costs its mean length rather than its longest sentence.
        var active = Enumerable.Range(0, count).ToArray();
        for (var step = 0; step < maxTokens && active.Length > 0; step++)
        {
            (var logits, state) = vae.DecodeStep(token, state, z);
            if (mix is not null)
            {
                (logits, mixState) = mix.Step(logits, token, mixState, mixCodes);
            }
            logits.IndexFill(1, banned, double.NegativeInfinity);
            token = temperature <= 0
                ? logits.argmax(1)
                : Draw(Truncate(nn.functional.softmax(temperature == 1 ? logits : logits.Over(temperature), 1), topP, minP), random);
            var ids = token.data<long>().ToArray();
            var continuing = new List<long>(active.Length);
            for (var row = 0; row < active.Length; row++)
            {
                if (ids[row] != config.EosId)
                {
                    sequences[active[row]].Add((int)ids[row]);
                    continuing.Add(row);
                }
            }
            if (continuing.Count < active.Length)
            {
                var keep = tensor(continuing.ToArray());
                (state, z, token) = (state.index_select(1, keep), z.index_select(0, keep), token.index_select(0, keep));
                if (mix is not null)
                {
                    (mixState, mixCodes) = (mixState.index_select(1, keep), mixCodes.index_select(0, keep));
                }
                active = continuing.Select(row => active[row]).ToArray();
            }
        }
        return sequences.Select(s => s.ToArray()).ToArray();
    }

    /// <summary>
    /// One index per row of <paramref name="probabilities"/> [B, V] (rows need not sum to 1), drawn in
    /// proportion to its entry: inverse-CDF sampling (<see cref="WeightedDraw"/>, the serving
    /// sampler's draw) with one uniform number per row from <paramref name="random"/>. torch.multinomial draws an
    /// exponential number for every entry instead (B × V per step), which made it most of the
    /// evaluation's sampling time.
    /// </summary>
    public static Tensor Draw(Tensor probabilities, Generator random)
    {
        var (rows, size) = ((int)probabilities.shape[0], (int)probabilities.shape[1]);
        using var values = probabilities.to_type(ScalarType.Float32).contiguous();
        // Read in place: TensorAccessor.ToArray copies entry by entry, slower than the draw itself.
        var entries = MemoryMarshal.Cast<byte, float>(values.bytes);
        using var uniform = rand(rows, ScalarType.Float64, generator: random);
        var uniforms = uniform.data<double>().ToArray();
        var drawn = new long[rows];
        for (var row = 0; row < rows; row++)
        {
            drawn[row] = WeightedDraw.Index(entries.Slice(row * size, size), uniforms[row]);
        }
        return tensor(drawn);
    }

    /// <summary>Zeroes the probabilities [B, V] outside the nucleus and below min-p times each row's maximum.</summary>
    internal static Tensor Truncate(Tensor probabilities, double topP, double minP)
    {
        if (topP < 1)
        {
            var (sorted, order) = probabilities.sort(1, descending: true);
            // Keep a token while the mass before it is below top_p (the most likely one always stays).
            var before = sorted.cumsum(1) - sorted;
            var outside = before.AtLeast(topP);
            probabilities = probabilities.scatter(1, order, sorted.MaskedFill(outside, 0.0));
        }
        if (minP > 0)
        {
            var floor = probabilities.amax([1], keepdim: true).Times(minP);
            probabilities = probabilities.MaskedFill(probabilities.lt(floor), 0.0);
        }
        return probabilities;
    }
}
