using System.Security.Cryptography;
using LlmMesh.Trainer.Corpora;

namespace LlmMesh.Trainer.Tests;

public sealed class CorpusLibraryTests : IDisposable
{
    private static readonly CorpusLimits Limits = new(MaxBytes: 4096, MaxLineChars: 80, MinLines: 3);
    private readonly string _root = Directory.CreateTempSubdirectory("llmmesh-library-").FullName;

    public CorpusLibraryTests()
    {
        Directory.CreateDirectory(Path.Combine(BuiltIn, "coco"));
        File.WriteAllText(Path.Combine(BuiltIn, "coco", "train.txt"), "a cat on a mat\na dog in a park\n");
    }

    private string BuiltIn => Path.Combine(_root, "data");
    private string Uploads => Path.Combine(_root, "corpora");

    private CorpusLibrary NewLibrary(CorpusLimits? limits = null) => new(BuiltIn, Uploads, limits ?? Limits);

    private static StoredCorpus Upload(CorpusLibrary library, string name, IEnumerable<string> lines, bool replace = false, bool skipLongLines = false)
    {
        using var upload = library.BeginUpload(name, replace, skipLongLines);
        foreach (var line in lines)
        {
            upload.Add(line);
        }
        return library.Commit(upload);
    }

    [Fact]
    public void An_upload_is_trimmed_and_deduplicated_and_its_figures_describe_the_stored_text()
    {
        var library = NewLibrary();

        var corpus = Upload(library, "poems", ["  roses are red ", "", "violets are blue", "roses are red", "   ", "sugar is sweet\nand so are you\r"]);

        var path = library.Resolve("poems");
        Assert.Equal(["roses are red", "violets are blue", "sugar is sweet", "and so are you"], File.ReadAllLines(path));
        Assert.Equal(4, corpus.Lines);
        Assert.Equal(new DroppedLineCounts(Empty: 2, Duplicate: 1, TooLong: 0), corpus.Dropped);
        Assert.Equal(new FileInfo(path).Length, corpus.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), corpus.Sha256);
        Assert.False(corpus.BuiltIn);
        Assert.False(corpus.Replaced);

        // A new library over the same folders (a restarted trainer) lists it exactly so, beside the built-in one.
        var listed = NewLibrary().List();
        Assert.Equal(["coco", "poems"], listed.Select(c => c.Name));
        Assert.Equal(corpus, listed[1]);
        Assert.True(listed[0].BuiltIn);
        Assert.Equal(2, listed[0].Lines);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(library.Resolve("coco")))), listed[0].Sha256);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-poems")]
    [InlineData("po ems")]
    [InlineData("../poems")]
    [InlineData("poèmes")]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345")]
    public void A_name_outside_the_pattern_is_refused(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => NewLibrary().BeginUpload(name, replace: false, skipLongLines: false));
        Assert.Contains("name", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Uploads));
    }

    [Fact]
    public void A_stored_name_needs_replace_and_a_built_in_name_is_never_taken()
    {
        var library = NewLibrary();
        Upload(library, "poems", ["one line", "two lines", "three lines"]);

        Assert.Equal(MeshErrorKind.AlreadyExists, Assert.Throws<MeshException>(() => library.BeginUpload("poems", false, false)).Kind);
        Assert.Equal(MeshErrorKind.AlreadyExists, Assert.Throws<MeshException>(() => library.BeginUpload("coco", false, false)).Kind);
        Assert.Equal(MeshErrorKind.FailedPrecondition, Assert.Throws<MeshException>(() => library.BeginUpload("coco", true, false)).Kind);
        Assert.Equal(MeshErrorKind.FailedPrecondition, Assert.Throws<MeshException>(() => library.Delete("coco")).Kind);

        var replaced = Upload(library, "poems", ["four lines", "five lines", "six lines", "seven lines"], replace: true);
        Assert.True(replaced.Replaced);
        Assert.Equal(4, replaced.Lines);
        Assert.Equal("four lines", File.ReadLines(library.Resolve("poems")).First());
        Assert.Equal(["poems"], Directory.EnumerateDirectories(Uploads).Select(Path.GetFileName));
    }

    [Fact]
    public void A_long_line_fails_the_upload_naming_its_number_unless_long_lines_are_skipped()
    {
        var library = NewLibrary();
        var lines = new[] { "first", "", "second", new string('x', 81), "third" };

        var error = Assert.Throws<ArgumentException>(() => Upload(library, "long", lines));
        Assert.Contains("line 4 has 81 characters", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Uploads));

        var skipped = Upload(library, "long", lines, skipLongLines: true);
        Assert.Equal(3, skipped.Lines);
        Assert.Equal(new DroppedLineCounts(Empty: 1, Duplicate: 0, TooLong: 1), skipped.Dropped);
    }

    [Fact]
    public void Too_few_usable_lines_or_too_many_bytes_store_nothing()
    {
        var library = NewLibrary();

        var few = Assert.Throws<ArgumentException>(() => Upload(library, "few", ["same", "same", "", "other"]));
        Assert.Contains("2 usable lines", few.Message);
        Assert.Contains("at least 3", few.Message);

        var big = Assert.Throws<MeshException>(() => Upload(library, "big", Enumerable.Range(0, 500).Select(i => $"sentence number {i}")));
        Assert.Equal(MeshErrorKind.CapacityExceeded, big.Kind);
        Assert.Contains("Trainer:MaxCorpusBytes", big.Message);

        Assert.Empty(Directory.EnumerateFileSystemEntries(Uploads));
        Assert.Equal(["coco"], library.List().Select(c => c.Name));
        Assert.Throws<CorpusNotFoundException>(() => library.Resolve("few"));
    }

    [Fact]
    public void An_abandoned_upload_leaves_nothing_and_a_deleted_corpus_is_gone()
    {
        var library = NewLibrary();
        using (var upload = library.BeginUpload("abandoned", false, false))
        {
            upload.Add("one");
            upload.Add("two");
            upload.Add("three");
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(Uploads));

        var stored = Upload(library, "kept", ["one", "two", "three"]);
        Assert.Equal(stored, library.Delete("kept"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Uploads));
        Assert.Throws<CorpusNotFoundException>(() => library.Delete("kept"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

public sealed class ShuffledNegativesTests
{
    [Fact]
    public void Words_are_shuffled_and_a_line_without_spaces_has_its_characters_shuffled()
    {
        var random = new Random(3);
        var english = LlmMesh.Trainer.Runs.CorpusTokenizer.Shuffle("a cat on a red mat", random);
        Assert.Equal("a a cat mat on red", string.Join(' ', english.Split(' ').Order()));
        Assert.NotEqual("a cat on a red mat", english);

        var chinese = LlmMesh.Trainer.Runs.CorpusTokenizer.Shuffle("一只猫在田野里吃草。", random);
        Assert.Equal("一只猫在田野里吃草。".Order(), chinese.Order());
        Assert.NotEqual("一只猫在田野里吃草。", chinese);
        Assert.DoesNotContain(' ', chinese);

        Assert.Equal("", LlmMesh.Trainer.Runs.CorpusTokenizer.Shuffle("猫", random)); // nothing to reorder
    }
}
