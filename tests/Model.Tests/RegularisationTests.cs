using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class RegularisationTests
{
    private static readonly VaeConfig Tied = TinyData.Config with { TieEmbeddings = true, Dropout = 0.5 };

    [Fact]
    public void Tied_embeddings_share_the_output_weights_with_the_input_table_through_a_projection()
    {
        using var tied = new SentenceVae(Tied);
        using var plain = new SentenceVae(TinyData.Config);
        var names = tied.named_parameters().Select(p => p.name).ToArray();
        Assert.Contains("outputProjection.weight", names);
        Assert.Contains("outputBias", names);
        Assert.DoesNotContain("output.weight", names);
        // The V x H output weights give way to an E x H projection with its E biases.
        var (v, e, h) = (TinyData.VocabularySize, TinyData.Config.EmbeddingSize, TinyData.Config.HiddenSize);
        var saved = v * h - (e * h + e);
        Assert.Equal(plain.parameters().Sum(p => p.numel()) - saved, tied.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void The_folded_output_layer_gives_the_decoder_steps_logits(bool tieEmbeddings, bool latentToOutput)
    {
        using var model = new SentenceVae(TinyData.Config with { TieEmbeddings = tieEmbeddings, LatentToOutput = latentToOutput });
        model.ResetParameters(new Generator(3, CPU));
        model.eval();
        var z = randn(3, TinyData.Config.LatentSize);
        var state = model.InitialState(z);
        var (logits, next) = model.DecodeStep(tensor(new long[] { 5, 6, 7 }), state, z);
        var (weight, bias) = model.OutputLayer();
        Assert.Equal([(long)TinyData.VocabularySize, TinyData.Config.HiddenSize], weight.shape);
        var expected = next.squeeze(0).matmul(weight.t()) + bias;
        var latentWeight = model.LatentOutputWeight();
        Assert.Equal(latentToOutput, latentWeight is not null);
        if (latentWeight is not null)
        {
            Assert.Equal([(long)TinyData.VocabularySize, TinyData.Config.LatentSize], latentWeight.shape);
            Assert.False(logits.allclose(expected, rtol: 1e-4, atol: 1e-5), "z enters the logits beyond the decoder state");
            expected += z.matmul(latentWeight.t());
        }
        Assert.True(logits.allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void The_code_enters_the_output_layer_only_in_a_model_with_a_code()
    {
        var error = Assert.Throws<ArgumentException>(() => new SentenceVae(TinyData.Config with { UsesLatent = false, LatentToOutput = true }));
        Assert.StartsWith("latent_to_output", error.Message);
    }

    [Fact]
    public void Dropout_applies_only_with_a_generator_and_draws_its_masks_from_it()
    {
        using var model = new SentenceVae(Tied);
        var batcher = new SentenceBatcher(TinyData.Sentences(4), 4, Tied);
        using var batch = batcher.Build([0, 1, 2, 3]);
        var z = randn(4, Tied.LatentSize);
        model.train();

        var without = model.Decode(batch.DecoderInputs, z);
        Assert.True(without.allclose(model.Decode(batch.DecoderInputs, z)), "no generator: no dropout, deterministic");
        var a = model.Decode(batch.DecoderInputs, z, new Generator(1, CPU));
        var b = model.Decode(batch.DecoderInputs, z, new Generator(1, CPU));
        var c = model.Decode(batch.DecoderInputs, z, new Generator(2, CPU));
        Assert.True(a.eq(b).all().item<bool>(), "the same generator state gives the same masks");
        Assert.False(a.allclose(without), "dropout changes the logits");
        Assert.False(a.allclose(c), "another seed, other masks");
        Assert.True(model.Encode(batch.Tokens, batch.Lengths).Mu.allclose(model.Encode(batch.Tokens, batch.Lengths).Mu));
    }

    [Fact]
    public void A_tied_model_with_dropout_round_trips_through_its_checkpoint()
    {
        var path = Path.Combine(Path.GetTempPath(), $"llmmesh-tied-{Guid.NewGuid():N}.pt");
        try
        {
            using var model = new SentenceVae(Tied);
            model.ResetParameters(new Generator(9, CPU));
            model.save(path);
            using var loaded = new SentenceVae(Tied);
            loaded.load(path, strict: true);
            Assert.Equal(TinyData.Weights(model), TinyData.Weights(loaded));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0, 1e-3)]
    [InlineData(500, 5.5e-4)]
    [InlineData(1000, 1e-4)]
    [InlineData(2000, 1e-4)]
    public void The_cosine_schedule_falls_from_the_learning_rate_to_a_tenth_of_it(long step, double expected)
    {
        var options = new VaeTrainingOptions { LearningRate = 1e-3, LearningRateSchedule = LearningRateSchedule.Cosine };
        Assert.Equal(expected, options.LearningRateAt(step, totalSteps: 1000), precision: 9);
        Assert.Equal(1e-3, new VaeTrainingOptions { LearningRate = 1e-3 }.LearningRateAt(step, 1000));
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p_and_min_p_drops_tokens_below_its_share_of_the_best()
    {
        var probabilities = tensor(new float[] { 0.5f, 0.3f, 0.15f, 0.05f, 0.4f, 0.4f, 0.1f, 0.1f }, [2, 4]);

        var nucleus = VaeSampler.Truncate(probabilities, topP: 0.8, minP: 0).data<float>().ToArray();
        Assert.Equal([0.5f, 0.3f, 0, 0, 0.4f, 0.4f, 0, 0], nucleus);

        var minP = VaeSampler.Truncate(probabilities, topP: 1, minP: 0.25).data<float>().ToArray();
        Assert.Equal([0.5f, 0.3f, 0.15f, 0, 0.4f, 0.4f, 0.1f, 0.1f], minP);

        Assert.Equal(probabilities.data<float>().ToArray(), VaeSampler.Truncate(probabilities, 1, 0).data<float>().ToArray());
    }

    [Fact]
    public void A_draw_follows_each_rows_probabilities_and_never_picks_a_zero_one()
    {
        // Rows as sampling meets them: one sums to 1, one was truncated (sums to .7), one holds all on its last entry.
        var probabilities = tensor(new float[] { 0.5f, 0.3f, 0, 0.2f, 0.4f, 0, 0.3f, 0, 0, 0, 0, 1 }, [3, 4]);
        var rows = probabilities.repeat(20_000, 1);
        var drawn = VaeSampler.Draw(rows, new Generator(11, CPU)).data<long>().ToArray();

        var counts = new double[3, 4];
        for (var i = 0; i < drawn.Length; i++)
        {
            counts[i % 3, drawn[i]]++;
        }
        double[][] expected = [[0.5, 0.3, 0, 0.2], [0.4 / 0.7, 0, 0.3 / 0.7, 0], [0, 0, 0, 1]];
        for (var row = 0; row < 3; row++)
        {
            for (var index = 0; index < 4; index++)
            {
                // 20,000 draws: a share's standard error is at most .0036; .015 is four of them.
                Assert.InRange(counts[row, index] / 20_000, expected[row][index] - 0.015, expected[row][index] + 0.015);
                if (expected[row][index] == 0)
                {
                    Assert.Equal(0, counts[row, index]);
                }
            }
        }
        Assert.Equal(drawn, VaeSampler.Draw(rows, new Generator(11, CPU)).data<long>().ToArray());
    }

    [Fact]
    public void Sampling_applies_the_truncation_at_every_step()
    {
        using var model = new SentenceVae(TinyData.Config);
        model.ResetParameters(new Generator(4, CPU));
        var z = randn(50, TinyData.Config.LatentSize, generator: new Generator(5, CPU));
        var greedy = VaeSampler.Sample(model, z, 6, 0, new Generator(6, CPU));
        // Only the most likely token survives min-p 1 or top-p 1e-6: sampling becomes greedy decoding (an
        // untrained decoder has tokens within .1 % of the best, so min-p .999 would keep those too).
        Assert.Equal(greedy, VaeSampler.Sample(model, z, 6, 1.0, new Generator(6, CPU), minP: 1));
        Assert.Equal(greedy, VaeSampler.Sample(model, z, 6, 1.0, new Generator(6, CPU), topP: 1e-6));
        Assert.NotEqual(greedy, VaeSampler.Sample(model, z, 6, 1.0, new Generator(6, CPU)));
    }

    [Fact]
    public void Sampling_gives_every_row_what_it_would_get_alone_when_rows_finish_at_different_steps()
    {
        using var trainer = new VaeTrainer(TinyData.Config, TinyData.Options(epochs: 3), TinyData.Sentences(300));
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
        }
        var z = randn(40, TinyData.Config.LatentSize, generator: new Generator(5, CPU));
        var batch = VaeSampler.Sample(trainer.Model, z, 20, 0, new Generator(6, CPU));
        // Finished rows leave the batch: the rows must end at different steps for that to happen.
        Assert.True(batch.Select(s => s.Length).Distinct().Count() > 3);
        var alone = Enumerable.Range(0, 40).Select(row => VaeSampler.Sample(trainer.Model, z[row..(row + 1)], 20, 0, new Generator(6, CPU))[0]);
        Assert.Equal(alone, batch);
    }
}
