using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh interpolate "A" "B": the sentences on the latent path from A's code to B's, printed as they are decoded.</summary>
public static class InterpolateCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var start = new Argument<string>("START") { Description = "The sentence the path starts at" };
        var end = new Argument<string>("END") { Description = "The sentence the path ends at" };
        var steps = new Option<int?>("--steps", "-s") { Description = "Points on the path, ends included (2-64, default 8)" };
        var method = new Option<string?>("--method") { Description = "slerp (default) or linear" };
        method.AcceptOnlyFromAmong("slerp", "linear");
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature of each point; default 0 (greedy)" };
        var maxTokens = new Option<int?>("--max-tokens", "-n") { Description = "Most tokens per point" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the sampling" };
        var model = ModelOption.Create();
        var command = new Command("interpolate", "Decode the path between two sentences' latent codes") { start, end, steps, method, temperature, maxTokens, seed, model };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new InterpolateRequest
            {
                Start = parse.GetValue(start)!,
                End = parse.GetValue(end)!,
                Steps = parse.GetValue(steps) ?? 0,
                Method = parse.GetValue(method) ?? "",
                Model = parse.GetValue(model) ?? "",
            };
            if (parse.GetValue(temperature) is { } t) request.Temperature = t;
            if (parse.GetValue(maxTokens) is { } n) request.MaxTokens = n;
            if (parse.GetValue(seed) is { } s) request.Seed = s;
            using var cli = context(parse);
            await cli.CallAsync("generator", () => StreamAsync(cli, request, cancellationToken));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Steps arrive as each is decoded; they are printed in path order, each as soon as all before it are in.</summary>
    private static async Task<bool> StreamAsync(CliContext cli, InterpolateRequest request, CancellationToken cancellationToken)
    {
        using var call = cli.Mesh.Generator.Interpolate(request, cancellationToken: cancellationToken);
        var pending = new SortedDictionary<int, InterpolationStep>();
        var next = 0;
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            if (cli.Json)
            {
                cli.WriteJsonLine(response);
                continue;
            }
            if (response.Step is { } step)
            {
                pending[step.Index] = step;
                while (pending.Remove(next, out var ready))
                {
                    await cli.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{ready.Index,2}  t={ready.T:F2}  {ready.Text}"));
                    next++;
                }
            }
            else if (response.Final is { } final)
            {
                await cli.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{final.Steps} steps · {final.Method} · {final.Usage.CompletionTokens} tokens · {final.TotalMs:F0} ms · seed {final.Seed} · bundle {final.BundleVersion}]"));
            }
        }
        return true;
    }
}
