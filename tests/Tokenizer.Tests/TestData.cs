using System.Text;
using LlmMesh.TestSupport;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public static class TestData
{
    public static string CocoCorpus => RepositoryPaths.CocoCorpus;

    public static BpeVocabulary Train(IEnumerable<string> lines, int vocabularySize = 2048, int minFrequency = 2)
    {
        var trainer = new BpeTrainer(new BpeTrainingOptions { VocabularySize = vocabularySize, MinFrequency = minFrequency });
        foreach (var line in lines)
        {
            trainer.AddLine(line);
        }
        return trainer.Train();
    }

    /// <summary>A random string of Unicode scalar values drawn from scripts and symbols that stress a tokenizer.</summary>
    public static string RandomUnicode(Random random, int maxCodePoints = 40)
    {
        (int From, int To)[] ranges =
        [
            (0x20, 0x7E), (0x00, 0x1F), (0x7F, 0x9F), (0xA0, 0x24F), (0x300, 0x36F), (0x590, 0x5FF),
            (0x600, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
            (0x1F300, 0x1FAFF), (0x1F3FB, 0x1F3FF), (0x200B, 0x200F), (0x2028, 0x202E), (0xFE00, 0xFE0F),
            (0xE000, 0xF8FF), (0x10000, 0x10FFFF), (0x0, 0x10FFFF),
        ];
        var text = new StringBuilder();
        var count = random.Next(maxCodePoints + 1);
        for (var i = 0; i < count; i++)
        {
            if (random.Next(8) == 0)
            {
                text.Append(" \u200D\t\n\r\u3000"[random.Next(6)]); // spaces and joiners between symbols
                continue;
            }
            var (from, to) = ranges[random.Next(ranges.Length)];
            int scalar;
            do
            {
                scalar = random.Next(from, to + 1);
            }
            while (scalar is >= 0xD800 and <= 0xDFFF);
            text.Append(char.ConvertFromUtf32(scalar));
        }
        return text.ToString();
    }
}

/// <summary>The vocabulary trained on the shipped COCO corpus, shared by a test class.</summary>
public sealed class CocoVocabularyFixture
{
    public CocoVocabularyFixture()
    {
        Vocabulary = TestData.Train(File.ReadLines(TestData.CocoCorpus));
        Tokenizer = ByteLevelBpeTokenizer.Create(Vocabulary);
    }

    public BpeVocabulary Vocabulary { get; }

    public ByteLevelBpeTokenizer Tokenizer { get; }
}
