using System.ComponentModel.DataAnnotations;

namespace LlmMesh.Trainer.Runs;

public sealed class TrainerOptions
{
    public const string Section = "Trainer";

    /// <summary>Folder of corpora: a corpus is a name (folder with train.txt) or a file path inside it.</summary>
    [Required]
    public string DataDirectory { get; set; } = "";

    /// <summary>Uploaded corpora (UploadCorpus): a folder each, beside the shipped ones in <see cref="DataDirectory"/>.</summary>
    [Required]
    public string CorporaDirectory { get; set; } = "";

    /// <summary>Run records and checkpoints.</summary>
    [Required]
    public string RunsDirectory { get; set; } = "";

    /// <summary>TorchSharp intra-op threads.</summary>
    [Range(1, 256)]
    public int Threads { get; set; } = 2;

    /// <summary>Preset trained at start-up when the model store has no bundle ("" = none).</summary>
    public string AutoTrainPreset { get; set; } = "";

    /// <summary>Size limit of a corpus a run reads or an upload stores.</summary>
    [Range(1, long.MaxValue)]
    public long MaxCorpusBytes { get; set; } = 512L << 20;

    /// <summary>Longest line an upload accepts (characters, after trimming).</summary>
    [Range(16, 1 << 20)]
    public int MaxCorpusLineChars { get; set; } = 2000;

    /// <summary>Fewest usable lines an upload must hold (a run holds some out for validation).</summary>
    [Range(2, int.MaxValue)]
    public int MinCorpusLines { get; set; } = 50;

    public Corpora.CorpusLimits CorpusLimits => new(MaxCorpusBytes, MaxCorpusLineChars, MinCorpusLines);
}
