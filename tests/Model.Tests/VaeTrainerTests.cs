namespace LlmMesh.Model.Tests;

public sealed class VaeTrainerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("llmmesh-trainer-").FullName;
    private readonly int[][] _sentences = TinyData.Sentences(160);

    /// <summary>The plain tiny model, and one with dropout (its own masks), tied embeddings, a cosine learning rate, the bag-of-words loss (its own weights, checkpointed) and withheld codes.</summary>
    public static TheoryData<bool> Regularised => [false, true];

    [Theory]
    [MemberData(nameof(Regularised))]
    public void Training_with_the_same_seed_is_bit_for_bit_repeatable(bool regularised)
    {
        var (lossesA, weightsA) = Train(TinyData.Options(seed: 11), regularised);
        var (lossesB, weightsB) = Train(TinyData.Options(seed: 11), regularised);
        var (lossesC, _) = Train(TinyData.Options(seed: 12), regularised);

        Assert.Equal(lossesA, lossesB);
        Assert.Equal(weightsA, weightsB);
        Assert.NotEqual(lossesA, lossesC);
    }

    [Theory]
    [MemberData(nameof(Regularised))]
    public void A_run_resumed_from_a_checkpoint_ends_exactly_where_an_uninterrupted_run_ends(bool regularised)
    {
        var options = TinyData.Options(seed: 21, epochs: 3);
        var (losses, weights) = Train(options, regularised);
        var (config, resumedOptions) = Setup(options, regularised);

        List<double> resumedLosses = [];
        using (var first = new VaeTrainer(config, resumedOptions, _sentences))
        {
            // Stop mid-epoch, as a crash would.
            for (var i = 0; i < 13; i++)
            {
                resumedLosses.Add(first.TrainStep().Loss);
            }
            first.SaveCheckpoint(_directory);
        }
        using var second = new VaeTrainer(config, resumedOptions, _sentences);
        second.LoadCheckpoint(_directory);
        Assert.Equal(13, second.Position.Step);
        while (!second.IsFinished)
        {
            resumedLosses.Add(second.TrainStep().Loss);
        }

        Assert.Equal(losses, resumedLosses);
        Assert.Equal(weights, TinyData.Weights(second.Model));
    }

    [Fact]
    public void Training_lowers_the_held_out_loss_and_keeps_the_latent_code_in_use()
    {
        var options = TinyData.Options(seed: 3, epochs: 8) with { FreeBits = 0.5, KlSchedule = KlSchedule.Constant };
        using var trainer = new VaeTrainer(TinyData.Config, options, _sentences);
        var heldOut = TinyData.Sentences(40, seed: 99);
        var before = trainer.Evaluate(heldOut);
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
        }
        var after = trainer.Evaluate(heldOut);

        // Training seeds 1-10 (one thread): the NLL fell by 0.98-1.25, KL ended at 1.39-1.92 nats
        // with all 4 units active; the bounds below sit at half of the smallest of each.
        Assert.True(after.NllPerToken < before.NllPerToken - 0.5, $"NLL {before.NllPerToken:F3} -> {after.NllPerToken:F3}");
        Assert.True(after.KlPerSentence > 0.7, $"KL collapsed to {after.KlPerSentence:F3}");
        Assert.True(after.ActiveUnits >= 1);
        Assert.InRange(after.ReconstructionAccuracy, 0.0, 1.0);
        Assert.Equal(40, after.Sentences);
    }

    [Fact]
    public void Steps_bound_the_run_instead_of_epochs()
    {
        using var trainer = new VaeTrainer(TinyData.Config, TinyData.Options() with { Steps = 7, Epochs = 0 }, _sentences);
        var steps = 0;
        while (!trainer.IsFinished)
        {
            trainer.TrainStep();
            steps++;
        }
        Assert.Equal(7, steps);
        Assert.Throws<InvalidOperationException>(() => trainer.TrainStep());
    }

    [Theory]
    [InlineData("epochs")]
    [InlineData("batch_size")]
    [InlineData("learning_rate")]
    [InlineData("word_dropout")]
    [InlineData("free_bits")]
    [InlineData("bag_of_words_weight")]
    [InlineData("unconditional_rate")]
    public void Invalid_options_are_refused_naming_the_field(string field)
    {
        var options = field switch
        {
            "epochs" => new VaeTrainingOptions { Epochs = 0, Steps = 0 },
            "batch_size" => new VaeTrainingOptions { BatchSize = 0 },
            "learning_rate" => new VaeTrainingOptions { LearningRate = double.NaN },
            "word_dropout" => new VaeTrainingOptions { WordDropout = 1.5 },
            "bag_of_words_weight" => new VaeTrainingOptions { BagOfWordsWeight = -1 },
            "unconditional_rate" => new VaeTrainingOptions { UnconditionalRate = 1 },
            _ => new VaeTrainingOptions { FreeBits = double.PositiveInfinity },
        };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.StartsWith(field, error.Message);
    }

    private static (VaeConfig Config, VaeTrainingOptions Options) Setup(VaeTrainingOptions options, bool regularised) =>
        regularised
            ? (TinyData.Config with { Dropout = 0.3, TieEmbeddings = true }, options with { LearningRateSchedule = LearningRateSchedule.Cosine, BagOfWordsWeight = 1, UnconditionalRate = 0.25 })
            : (TinyData.Config, options);

    private (List<double> Losses, float[] Weights) Train(VaeTrainingOptions options, bool regularised = false)
    {
        var (config, trainingOptions) = Setup(options, regularised);
        using var trainer = new VaeTrainer(config, trainingOptions, _sentences);
        var losses = new List<double>();
        while (!trainer.IsFinished)
        {
            losses.Add(trainer.TrainStep().Loss);
        }
        return (losses, TinyData.Weights(trainer.Model));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
