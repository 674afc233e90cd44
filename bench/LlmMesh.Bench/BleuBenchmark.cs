using System.Diagnostics;
using LlmMesh.Evaluation;

namespace LlmMesh.Bench;

/// <summary>
/// Texygen BLEU and Self-BLEU at benchmark scale: the shipped 10,000 captions as the sample pool
/// and as the reference file (10,000 x 10,000), timed.
/// </summary>
public static class BleuBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        var corpus = args.Length > 1 && args[0] == "--corpus" ? args[1] : Path.Combine(AppContext.BaseDirectory, "coco-sample.txt");
        var clock = Stopwatch.StartNew();
        var vocabulary = new WordVocabulary();
        var sentences = File.ReadLines(corpus).Where(l => l.Trim().Length > 0).Select(l => vocabulary.GetOrAdd(WordTokenizer.Tokenize(l))).ToArray();
        var tokenize = clock.Elapsed;

        clock.Restart();
        var references = new BleuReferenceSet(sentences);
        var index = clock.Elapsed;
        clock.Restart();
        var bleu = TextQuality.Bleu(references, sentences);
        var scoring = clock.Elapsed;
        clock.Restart();
        var selfBleu = TextQuality.SelfBleu(sentences);
        var selfScoring = clock.Elapsed;

        Console.WriteLine($"{sentences.Length} sentences: word split {tokenize.TotalSeconds:F2} s, reference index {index.TotalSeconds:F2} s");
        Console.WriteLine($"BLEU-2..5 of {sentences.Length} against {references.Count} references: {scoring.TotalSeconds:F2} s " +
            $"({bleu.Bleu2:F3}/{bleu.Bleu3:F3}/{bleu.Bleu4:F3}/{bleu.Bleu5:F3})");
        Console.WriteLine($"Self-BLEU-2..5 over {sentences.Length} (leave-one-out, index included): {selfScoring.TotalSeconds:F2} s " +
            $"({selfBleu.Bleu2:F3}/{selfBleu.Bleu3:F3}/{selfBleu.Bleu4:F3}/{selfBleu.Bleu5:F3})");
        return Task.FromResult(0);
    }
}
