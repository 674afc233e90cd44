using System.Diagnostics;
using System.Text.Json;
using LlmMesh.Evaluation;

namespace LlmMesh.Evaluation.Tests;

/// <summary>Lines and the values NLTK computed for them (Fixtures/nltk_bleu.py).</summary>
public sealed record NltkFixture(
    IReadOnlyList<string> References,
    IReadOnlyList<string> Hypotheses,
    IReadOnlyList<string> Pool,
    IReadOnlyDictionary<string, string[]> Tokens,
    IReadOnlyList<double[]> Bleu,
    IReadOnlyList<double[]> SelfBleu)
{
    public const string PythonWithNltk = "/usr/bin/python3";

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static NltkFixture Committed() => Read(File.ReadAllText(FixturePath("bleu-input.json")), File.ReadAllText(FixturePath("bleu-nltk.json")));

    public static bool NltkInstalled()
    {
        if (!File.Exists(PythonWithNltk))
        {
            return false;
        }
        using var check = Process.Start(new ProcessStartInfo(PythonWithNltk, ["-c", "import nltk"]) { RedirectStandardError = true })!;
        check.WaitForExit();
        return check.ExitCode == 0;
    }

    /// <summary>Runs NLTK on <paramref name="inputJson"/> now.</summary>
    public static NltkFixture Compute(string inputJson)
    {
        var input = Path.GetTempFileName();
        try
        {
            File.WriteAllText(input, inputJson);
            using var python = Process.Start(new ProcessStartInfo(PythonWithNltk, [FixturePath("nltk_bleu.py"), input])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = python.StandardOutput.ReadToEndAsync();
            var errors = python.StandardError.ReadToEndAsync();
            Assert.True(python.WaitForExit(TimeSpan.FromMinutes(2)), "NLTK did not finish in 2 minutes");
            Assert.True(python.ExitCode == 0, errors.Result);
            return Read(inputJson, output.Result);
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static NltkFixture Read(string inputJson, string outputJson)
    {
        using var input = JsonDocument.Parse(inputJson);
        using var output = JsonDocument.Parse(outputJson);
        string[] Lines(string name) => input.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray();
        double[][] Scores(string name) => output.RootElement.GetProperty(name).EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var tokens = output.RootElement.GetProperty("tokens").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(t => t.GetString()!).ToArray());
        return new NltkFixture(Lines("references"), Lines("hypotheses"), Lines("pool"), tokens, Scores("bleu"), Scores("self_bleu"));
    }

    /// <summary>Asserts that this project's tokenizer, BLEU and Self-BLEU give NLTK's values.</summary>
    public void AssertAgrees()
    {
        foreach (var (line, expected) in Tokens)
        {
            Assert.Equal(expected, WordTokenizer.Tokenize(line));
        }
        var vocabulary = new WordVocabulary();
        int[] Encode(string line) => vocabulary.GetOrAdd(WordTokenizer.Tokenize(line));

        var references = new BleuReferenceSet(References.Select(Encode).ToArray());
        for (var i = 0; i < Hypotheses.Count; i++)
        {
            AssertScores(Bleu[i], references.Score(Encode(Hypotheses[i])), $"BLEU of hypothesis {i} '{Hypotheses[i]}'");
        }
        var pool = new BleuReferenceSet(Pool.Select(Encode).ToArray());
        for (var i = 0; i < Pool.Count; i++)
        {
            AssertScores(SelfBleu[i], pool.Score(Encode(Pool[i]), isMember: true), $"Self-BLEU of pool line {i} '{Pool[i]}'");
        }
    }

    private static void AssertScores(double[] expected, BleuScores actual, string what)
    {
        for (var order = 2; order <= 5; order++)
        {
            var difference = Math.Abs(expected[order - 2] - actual[order]);
            Assert.True(difference <= 1e-9, $"{what}: BLEU-{order} is {actual[order]:R}, NLTK says {expected[order - 2]:R}");
        }
    }
}
