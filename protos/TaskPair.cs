namespace LlmMesh.Contracts.V1;

/// <summary>Two tasks started side by side, both always observed.</summary>
public static class TaskPair
{
    /// <summary>
    /// Waits for both tasks. When one fails or is cancelled, <paramref name="cancelOnFailure"/> is
    /// cancelled so that the other ends early, and the other is still awaited, so its exception is
    /// never left unobserved. Throws the error of the task that failed first, not the cancellation it caused in the other.
    /// </summary>
    public static async Task WhenBothAsync(Task first, Task second, CancellationTokenSource? cancelOnFailure = null)
    {
        var pending = new List<Task> { first, second };
        Task? firstFailure = null;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            if (!done.IsCompletedSuccessfully && firstFailure is null)
            {
                // The other task's own error is then only the cancellation this causes (a gRPC call reports it as CANCELLED).
                firstFailure = done;
                if (cancelOnFailure is not null)
                {
                    await cancelOnFailure.CancelAsync();
                }
            }
        }
        await (firstFailure ?? Task.CompletedTask);
    }
}
