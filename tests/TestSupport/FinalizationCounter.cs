using System.Diagnostics.Tracing;

namespace LlmMesh.TestSupport;

/// <summary>
/// Counts the objects of one type that the finalizer frees, from the runtime's FinalizeObject
/// events (GC keyword, verbose), which the finalizer thread writes as it finalizes each object.
/// Counts across the process: tests that use it run alone.
/// </summary>
public sealed class FinalizationCounter(Type counted) : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private static readonly ulong MarkerType = (ulong)typeof(Marker).TypeHandle.Value;
    private readonly ulong _countedType = (ulong)counted.TypeHandle.Value;
    private int _counted;
    private int _markers;

    /// <summary>Collects and finalizes everything unreachable, then waits until every finalization so far has been counted.</summary>
    public int CollectAndCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // The marker is finalized after all of the above on the one finalizer thread, whose events
        // arrive in order: once it is counted, so is every object before it.
        var markers = Volatile.Read(ref _markers);
        DropMarker();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref _markers) == markers)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the runtime's FinalizeObject events never arrived");
            }
            Thread.Sleep(10);
        }
        return Volatile.Read(ref _counted);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName != "FinalizeObject" || eventData.Payload is not [nint typeId, ..])
        {
            return;
        }
        var type = (ulong)typeId;
        if (type == _countedType)
        {
            Interlocked.Increment(ref _counted);
        }
        else if (type == MarkerType)
        {
            Interlocked.Increment(ref _markers);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void DropMarker() => _ = new Marker();

    private sealed class Marker
    {
        ~Marker()
        {
        }
    }
}
