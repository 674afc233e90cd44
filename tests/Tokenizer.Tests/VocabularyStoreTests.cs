using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public sealed class VocabularyStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-store-").FullName;
    private readonly BpeVocabulary _vocabulary = TestData.Train(File.ReadLines(TestData.CocoCorpus).Take(3000), vocabularySize: 600);

    [Fact]
    public void Saved_vocabulary_loads_with_the_same_encoding()
    {
        var store = new VocabularyStore(_root);

        Assert.True(store.Save(_vocabulary));
        Assert.False(store.Save(_vocabulary)); // content-addressed: same version, nothing written
        var loaded = store.Load(_vocabulary.Version);

        Assert.Equal(_vocabulary.Version, loaded.Version);
        Assert.Equal(ByteLevelBpeTokenizer.Create(_vocabulary).Encode("two dogs on a red couch"), loaded.Encode("two dogs on a red couch"));
        Assert.Equal([_vocabulary.Version], store.ListVersions());
        Assert.Empty(Directory.EnumerateDirectories(store.Root, ".tmp-*"));
    }

    [Fact]
    public void The_active_version_survives_a_new_store_instance()
    {
        new VocabularyStore(_root).Save(_vocabulary);
        new VocabularyStore(_root).SetActiveVersion(_vocabulary.Version);

        Assert.Equal(_vocabulary.Version, new VocabularyStore(_root).GetActiveVersion());
    }

    [Fact]
    public void Changed_files_are_refused_as_corrupt()
    {
        var store = new VocabularyStore(_root);
        store.Save(_vocabulary);
        File.AppendAllText(Path.Combine(store.Root, _vocabulary.Version, BpeVocabulary.MergesFile), "a b\n");

        var error = Assert.Throws<InvalidDataException>(() => store.Load(_vocabulary.Version));
        Assert.Contains("corrupt", error.Message);
    }

    [Theory]
    [InlineData("../tokenizer")]
    [InlineData("..")]
    [InlineData("/etc")]
    [InlineData("0123456789ABCDEF")]
    [InlineData("0123456789abcde")]
    public void Names_that_are_not_versions_never_reach_the_file_system(string version)
    {
        var store = new VocabularyStore(_root);

        Assert.False(store.Contains(version));
        Assert.Throws<KeyNotFoundException>(() => store.Load(version));
        Assert.Throws<KeyNotFoundException>(() => store.SetActiveVersion(version));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
