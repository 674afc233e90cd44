namespace LlmMesh.TestSupport;

public static class RepositoryPaths
{
    public static string Root { get; } = Find();

    public static string CocoCorpus => Path.Combine(Root, "data", "coco", "train.txt");

    /// <summary>The first COCO captions: enough for tiny models to learn something in seconds.</summary>
    public static IReadOnlyList<string> CocoLines(int count) => File.ReadLines(CocoCorpus).Take(count).ToArray();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LlmMesh.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("LlmMesh.sln not found above " + AppContext.BaseDirectory);
    }
}
