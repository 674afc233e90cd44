namespace LlmMesh.Cli;

/// <summary>A failure the user can act on: its message is printed as is, without a stack trace.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int BadArguments = 2;
    public const int Unavailable = 3;
    public const int Cancelled = 130;
}
