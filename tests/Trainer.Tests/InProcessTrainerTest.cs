namespace LlmMesh.Trainer.Tests;

/// <summary>A test class with its own trainer service in process: fresh folders and an in-process tokenizer per test.</summary>
public abstract class InProcessTrainerTest : IAsyncLifetime
{
    protected TrainerFolders Folders { get; } = new();

    protected InProcessTokenizer Tokenizer { get; private set; } = null!;

    protected TrainerServiceFactory Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tokenizer = await InProcessTokenizer.StartAsync(TrainerFolders.Corpus);
        Service = new TrainerServiceFactory(Folders, Tokenizer);
    }

    public virtual async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Tokenizer.DisposeAsync();
        Folders.Dispose();
    }
}
