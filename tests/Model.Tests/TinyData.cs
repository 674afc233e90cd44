namespace LlmMesh.Model.Tests;

/// <summary>Small synthetic sentences and a tiny model, so training tests take seconds.</summary>
public static class TinyData
{
    public const int VocabularySize = 60;

    public static VaeConfig Config { get; } = new() { VocabularySize = VocabularySize, EmbeddingSize = 16, HiddenSize = 24, LatentSize = 4 };

    /// <summary>Sentences with structure (a repeated pattern per "topic") over ids 4..59.</summary>
    public static int[][] Sentences(int count, int seed = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var topic = random.Next(4);
            var length = random.Next(3, 12);
            return Enumerable.Range(0, length).Select(i => 4 + (topic * 13 + i * (topic + 1) + random.Next(2)) % 56).ToArray();
        }).ToArray();
    }

    public static VaeTrainingOptions Options(long seed = 7, int epochs = 2) => new()
    {
        Epochs = epochs,
        BatchSize = 16,
        Seed = seed,
        KlSchedule = KlSchedule.Linear,
        KlAnnealSteps = 20,
        LearningRate = 3e-3,
    };

    public static float[] Weights(SentenceVae model) =>
        model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
}
