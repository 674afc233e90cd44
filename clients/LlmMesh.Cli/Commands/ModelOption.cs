using System.CommandLine;

namespace LlmMesh.Cli.Commands;

/// <summary>--model: which named model a command uses.</summary>
public static class ModelOption
{
    public static Option<string?> Create() => new("--model", "-m")
    {
        Description = "Model: NAME (its stable version, else its newest), NAME@VERSION, or empty for the mesh's default model ('llmmesh models' lists them)",
    };
}
