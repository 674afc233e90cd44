using LlmMesh.Contracts.V1;

namespace LlmMesh.TestSupport;

public static class RunOutcome
{
    /// <summary>Fails with the run's own error (not just its state) when it did not complete.</summary>
    public static void AssertCompleted(RunInfo run)
    {
        if (run.State != RunState.Completed)
        {
            throw new InvalidOperationException($"run {run.RunId} ended {run.State} in phase '{run.Phase}' instead of Completed: {run.Error}");
        }
    }
}
