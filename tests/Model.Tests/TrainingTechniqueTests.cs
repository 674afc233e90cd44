using static TorchSharp.torch;

namespace LlmMesh.Model.Tests;

public sealed class TrainingTechniqueTests
{
    [Theory]
    [InlineData(KlSchedule.Constant, 0, 1.0)]
    [InlineData(KlSchedule.Constant, 500, 1.0)]
    [InlineData(KlSchedule.Linear, 0, 0.0)]
    [InlineData(KlSchedule.Linear, 50, 0.5)]
    [InlineData(KlSchedule.Linear, 100, 1.0)]
    [InlineData(KlSchedule.Linear, 400, 1.0)]
    [InlineData(KlSchedule.Logistic, 50, 0.5)]
    [InlineData(KlSchedule.Cyclical, 0, 0.0)]
    [InlineData(KlSchedule.Cyclical, 125, 0.5)]
    [InlineData(KlSchedule.Cyclical, 250, 1.0)]
    [InlineData(KlSchedule.Cyclical, 499, 1.0)]
    [InlineData(KlSchedule.Cyclical, 500, 0.0)]
    [InlineData(KlSchedule.Cyclical, 625, 0.5)]
    public void Kl_weight_follows_the_schedule(KlSchedule schedule, long step, double expected)
    {
        // 1000 steps, 2 cycles of 500 rising over the first half; linear and logistic over 100 steps.
        var options = new VaeTrainingOptions { KlSchedule = schedule, KlAnnealSteps = 100, KlCycles = 2, KlRampFraction = 0.5 };
        Assert.Equal(expected, KlAnnealing.Weight(options, step, totalSteps: 1000), precision: 6);
    }

    [Fact]
    public void Logistic_schedule_rises_monotonically_from_near_zero_to_near_the_maximum()
    {
        var options = new VaeTrainingOptions { KlSchedule = KlSchedule.Logistic, KlAnnealSteps = 100, KlMaxWeight = 0.8 };
        var weights = Enumerable.Range(0, 101).Select(s => KlAnnealing.Weight(options, s, 1000)).ToArray();

        Assert.True(weights[0] < 0.01);
        Assert.True(weights[100] > 0.79);
        Assert.True(weights.Zip(weights.Skip(1)).All(p => p.Second > p.First));
    }

    [Fact]
    public void Word_dropout_replaces_about_the_rate_of_tokens_with_unk_but_never_bos_or_padding()
    {
        using var generator = new Generator(5, CPU);
        var config = TinyData.Config;
        var inputs = tensor(Enumerable.Range(0, 20_000).Select(i => i % 100 == 0 ? 1L : i % 100 > 90 ? 0L : 10L).ToArray()).reshape(200, 100);

        var dropped = VaeTrainer.ApplyWordDropout(inputs, 0.3, config, generator);

        var words = inputs.eq(10L);
        var replaced = dropped.eq(config.UnkId).logical_and(words).sum().item<long>() / (double)words.sum().item<long>();
        Assert.InRange(replaced, 0.28, 0.32);
        Assert.True(dropped.eq(config.BosId).equal(inputs.eq(config.BosId)).all().item<bool>());
        Assert.True(dropped.eq(config.PadId).equal(inputs.eq(config.PadId)).all().item<bool>());
        Assert.Same(inputs, VaeTrainer.ApplyWordDropout(inputs, 0, config, generator));
    }

    [Fact]
    public void The_bag_of_words_loss_sums_each_token_of_a_sentence_ignores_padding_and_averages_over_sentences()
    {
        using var generator = new Generator(3, CPU);
        using var head = new BagOfWordsHead(TinyData.Config, generator);
        var pad = TinyData.Config.PadId;
        var z = randn([1, TinyData.Config.LatentSize], generator: generator);
        double Loss(Tensor codes, long[,] tokens) => head.LossPerSentence(codes, tensor(tokens), pad).item<float>();

        var first = Loss(z, new long[,] { { 7 } });
        var second = Loss(z, new long[,] { { 9 } });
        Assert.True(first > 0 && second > 0);
        Assert.Equal(first + second, Loss(z, new long[,] { { 7, 9, pad, pad } }), precision: 4);
        Assert.Equal(2 * first + second, Loss(z, new long[,] { { 9, 7, 7 } }), precision: 4);

        var other = randn([1, TinyData.Config.LatentSize], generator: generator);
        var expected = (first + Loss(other, new long[,] { { 9 } })) / 2;
        Assert.Equal(expected, Loss(cat([z, other]), new long[,] { { 7, pad }, { 9, pad } }), precision: 4);
    }

    [Fact]
    public void Free_bits_count_each_dimension_at_least_the_floor_and_stop_its_gradient_below_it()
    {
        // Batch-averaged KL per dimension: [0.05, 0.5] -> with a 0.2 floor the term is 0.2 + 0.5.
        var klPerDimension = tensor(new float[] { 0.04f, 0.4f, 0.06f, 0.6f }, [2, 2]).requires_grad_();

        var term = VaeTrainer.KlTerm(klPerDimension, freeBits: 0.2);
        term.backward();

        Assert.Equal(0.7f, term.item<float>(), precision: 5);
        Assert.Equal([0f, 0.5f, 0f, 0.5f], klPerDimension.grad!.data<float>().ToArray());

        var plain = VaeTrainer.KlTerm(klPerDimension.detach(), freeBits: 0);
        Assert.Equal(0.55f, plain.item<float>(), precision: 5); // mean over the batch of the per-sentence sums
    }

    [Fact]
    public void Kl_per_dimension_is_the_closed_form_gaussian_kl()
    {
        var mu = tensor(new float[] { 0f, 1f, -2f }, [1, 3]);
        var logVar = tensor(new float[] { 0f, 0f, MathF.Log(4f) }, [1, 3]);

        var kl = VaeTrainer.KlPerDimension(mu, logVar).data<float>().ToArray();

        Assert.Equal(0f, kl[0], precision: 6);
        Assert.Equal(0.5f, kl[1], precision: 6);
        Assert.Equal(0.5f * (4f + 4f - 1f - MathF.Log(4f)), kl[2], precision: 5);
    }
}
