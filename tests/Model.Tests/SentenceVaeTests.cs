using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class SentenceVaeTests
{
    [Fact]
    public void Encoder_decoder_and_decoder_step_have_the_documented_shapes()
    {
        using var model = new SentenceVae(TinyData.Config);
        var batcher = new SentenceBatcher(TinyData.Sentences(5), batchSize: 5, TinyData.Config);
        using var batch = batcher.Build([0, 1, 2, 3, 4]);

        var (mu, logVar) = model.Encode(batch.Tokens, batch.Lengths);
        Assert.Equal([5L, 4L], mu.shape);
        Assert.Equal([5L, 4L], logVar.shape);

        var logits = model.Decode(batch.DecoderInputs, mu);
        Assert.Equal([5L, batch.DecoderInputs.shape[1], TinyData.VocabularySize], logits.shape);

        var state = model.InitialState(mu);
        Assert.Equal([1L, 5L, 24L], state.shape);
        var (stepLogits, next) = model.DecodeStep(full(5, TinyData.Config.BosId, ScalarType.Int64), state, mu);
        Assert.Equal([5L, TinyData.VocabularySize], stepLogits.shape);
        Assert.Equal(state.shape, next.shape);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decoder_steps_reproduce_teacher_forced_decoding(bool latentToOutput)
    {
        using var model = new SentenceVae(TinyData.Config with { LatentToOutput = latentToOutput });
        model.eval();
        var batcher = new SentenceBatcher(TinyData.Sentences(3), batchSize: 3, TinyData.Config);
        using var batch = batcher.Build([0, 1, 2]);
        var z = randn(3, 4);

        var whole = model.Decode(batch.DecoderInputs, z);
        var state = model.InitialState(z);
        for (var t = 0; t < batch.DecoderInputs.shape[1]; t++)
        {
            (var logits, state) = model.DecodeStep(batch.DecoderInputs[.., t], state, z);
            Assert.True(logits.allclose(whole[.., t, ..], rtol: 1e-4, atol: 1e-5), $"step {t} differs");
        }
    }

    [Fact]
    public void Padding_does_not_change_a_sentence_encoding()
    {
        using var model = new SentenceVae(TinyData.Config);
        model.eval();
        int[][] sentences = [[5, 6, 7], [8, 9, 10, 11, 12, 13, 14]];
        var alone = new SentenceBatcher(sentences, 1, TinyData.Config);
        using var single = alone.Build([0]);
        using var padded = alone.Build([0, 1]);

        var (muAlone, _) = model.Encode(single.Tokens, single.Lengths);
        var (muPadded, _) = model.Encode(padded.Tokens, padded.Lengths);
        Assert.True(muAlone[0].allclose(muPadded[0], rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Batches_group_similar_lengths_and_cover_every_sentence_once_per_epoch()
    {
        var sentences = TinyData.Sentences(200);
        var batcher = new SentenceBatcher(sentences, 16, TinyData.Config);

        var plan = batcher.EpochPlan(seed: 3, epoch: 0);
        Assert.Equal(Enumerable.Range(0, 200), plan.SelectMany(b => b).Order());
        Assert.All(plan, batch => Assert.True(batch.Max(i => sentences[i].Length) - batch.Min(i => sentences[i].Length) <= 2));
        Assert.Equal(plan, batcher.EpochPlan(seed: 3, epoch: 0));
        Assert.NotEqual(plan, batcher.EpochPlan(seed: 3, epoch: 1));
    }

    [Fact]
    public void A_batch_feeds_bos_then_tokens_and_targets_tokens_then_eos()
    {
        var batcher = new SentenceBatcher([[10, 11], [12, 13, 14]], 2, TinyData.Config);
        using var batch = batcher.Build([0, 1]);

        Assert.Equal([1L, 10, 11, 0, 1, 12, 13, 14], batch.DecoderInputs.data<long>().ToArray());
        Assert.Equal([10L, 11, 2, 0, 12, 13, 14, 2], batch.Targets.data<long>().ToArray());
        Assert.Equal([2L, 3], batch.Lengths.data<long>().ToArray());
        Assert.Equal(7, batch.TokenCount);
    }
}
