namespace LlmMesh.Model;

/// <summary>
/// Runs libtorch work on one dedicated thread. libtorch's OpenMP pool belongs to the thread that
/// calls it: work that hops between thread-pool threads builds several pools whose spinning
/// workers fight over the cores (measured: a 2-thread training step ran at 1-thread speed).
/// </summary>
public static class TorchThread
{
    public static Task<T> RunAsync<T>(string name, Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                completion.SetResult(work());
            }
            catch (Exception ex)
            {
                completion.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return completion.Task;
    }
}
