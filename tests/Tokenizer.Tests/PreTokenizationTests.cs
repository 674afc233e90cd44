using System.Text.Json.Nodes;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public sealed class PreTokenizationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-pretokens-").FullName;

    private static string[] Words(string text) => PreTokenization.Regex().Matches(text).Select(m => m.Value).ToArray();

    [Fact]
    public void Han_and_kana_characters_are_words_of_their_own_and_other_scripts_split_as_gpt2()
    {
        Assert.Equal(["人", "工", "智", "能", "改", "变", "生", "活", "。"], Words("人工智能改变生活。"));
        Assert.Equal(["猫", "が", "ネ", "ズ", "ミ"], Words("猫がネズミ"));
        Assert.Equal(["a", " man", "'s", " 猫", " riding", " 2", " horses", "!"], Words("a man's 猫 riding 2 horses!"));
        Assert.Equal(["고양이가", " 잔다"], Words("고양이가 잔다")); // Korean puts spaces between words
    }

    [Fact]
    public void A_chinese_vocabulary_learns_characters_and_frequent_pairs_not_whole_clauses()
    {
        var lines = File.ReadLines(Path.Combine(TestSupport.RepositoryPaths.Root, "data", "samples", "zh-captions.txt")).ToArray();
        var vocabulary = TestData.Train(lines, vocabularySize: 6400, minFrequency: 1);
        var tokenizer = ByteLevelBpeTokenizer.Create(vocabulary);

        var ids = tokenizer.Encode(lines[0]);
        Assert.True(ids.Count >= lines[0].Length / 2, $"{lines[0]} became {ids.Count} tokens");
        Assert.Equal(lines[0], tokenizer.Decode(ids.ToArray()));
        Assert.True(vocabulary.Tokens.Count < 1000, $"{vocabulary.Tokens.Count} tokens: clauses were learned whole");
    }

    [Fact]
    public void A_vocabulary_saved_with_gpt2s_split_loads_with_its_version_and_keeps_that_split()
    {
        var vocabulary = new BpeVocabulary(TestData.Train(["a cat", "a dog"], vocabularySize: 300, minFrequency: 1).Tokens, [],
            new BpeTrainingSummary(300, 1, "sha", 2), PreTokenization.Gpt2Pattern);
        var directory = Path.Combine(_root, vocabulary.Version);
        Directory.CreateDirectory(directory);
        vocabulary.WriteTo(directory);

        var loaded = ByteLevelBpeTokenizer.Load(directory, vocabulary.Version);

        Assert.Equal(vocabulary.Version, loaded.Version);
        Assert.NotEqual(vocabulary.Version, new BpeVocabulary(vocabulary.Tokens, [], vocabulary.Training).Version); // the split is part of the version
        Assert.Equal("人工", loaded.Decode(loaded.Encode("人工").ToArray()));

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, BpeVocabulary.ConfigFile)))!;
        config["PreTokenizerPattern"] = "(.)";
        File.WriteAllText(Path.Combine(directory, BpeVocabulary.ConfigFile), config.ToJsonString());
        Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.Load(directory));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
