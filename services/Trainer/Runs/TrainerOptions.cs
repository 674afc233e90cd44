using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Trainer.Runs;

public sealed class TrainerOptions
{
    public const string Section = "Trainer";

    /// <summary>Folder of corpora: a corpus is a name (folder with train.txt) or a file path inside it.</summary>
    [Required]
    public string DataDirectory { get; set; } = "";

    /// <summary>Run records and checkpoints.</summary>
    [Required]
    public string RunsDirectory { get; set; } = "";

    /// <summary>TorchSharp intra-op threads.</summary>
    [Range(1, 256)]
    public int Threads { get; set; } = 2;

    /// <summary>Preset trained at start-up when the model store has no bundle ("" = none).</summary>
    public string AutoTrainPreset { get; set; } = "";

    [Range(1, long.MaxValue)]
    public long MaxCorpusBytes { get; set; } = 512L << 20;
}
