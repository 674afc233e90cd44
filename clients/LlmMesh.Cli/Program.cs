using System.Diagnostics;
using System.Runtime.InteropServices;
using LlmMesh.Cli;

// A caller's trace context in TRACEPARENT (OpenTelemetry's environment carrier) makes the calls
// of this command part of the caller's trace.
using var trace = Environment.GetEnvironmentVariable("TRACEPARENT") is { Length: > 0 } traceParent
    && ActivityContext.TryParse(traceParent, Environment.GetEnvironmentVariable("TRACESTATE"), out _)
    ? new Activity("llmmesh").SetParentId(traceParent).Start()
    : null;

// Ctrl+C (or SIGTERM) cancels the command, which then stops what it started (a generation, a
// training run) and exits 130; a second Ctrl+C exits at once.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});
return await LlmMeshCli.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, cancellation.Token,
    interactive: !Console.IsErrorRedirected);
