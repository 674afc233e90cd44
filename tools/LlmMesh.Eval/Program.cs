using LlmMesh.Eval;

// scripts/eval.sh: evaluate a published bundle (see EvalArguments.Usage).
try
{
    var arguments = EvalArguments.Parse(args);
    if (arguments.Help)
    {
        Console.WriteLine(EvalArguments.Usage);
        return 0;
    }
    using var cancellation = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
    var output = await LlmMesh.Model.TorchThread.RunAsync("eval", () => new EvalRunner(arguments, Console.Error).Run(cancellation.Token));
    Console.WriteLine(Path.Combine(output, EvalRunner.MetricsFile));
    return 0;
}
catch (Exception ex) when (ex is EvalException or ArgumentException)
{
    Console.Error.WriteLine($"eval: {ex.Message}");
    Console.Error.WriteLine("run scripts/eval.sh --help for the options");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("eval: cancelled");
    return 130;
}
