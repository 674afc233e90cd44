using System.CommandLine;
using System.Globalization;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;

namespace LlmMesh.Cli.Commands;

/// <summary>llmmesh generate [PROMPT]: streams text to the terminal as it is decoded.</summary>
public static class GenerateCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var prompt = new Argument<string?>("prompt") { Description = "Write text related to this text; without it the text is unconditioned", Arity = ArgumentArity.ZeroOrOne };
        var maxTokens = new Option<int?>("--max-tokens", "-n") { Description = "Most tokens to generate (server default 32)" };
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature; 0 = greedy (default: the model's recommended settings)" };
        var topK = new Option<int?>("--top-k") { Description = "Keep the k most likely tokens; 0 = off" };
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling in (0, 1]; 1 = off (default: the model's)" };
        var minP = new Option<double?>("--min-p") { Description = "Drop tokens less likely than min-p times the most likely; 0 = off (default: the model's)" };
        var repetitionPenalty = new Option<double?>("--repetition-penalty") { Description = "> 1 discourages repeating generated tokens" };
        var seed = new Option<ulong?>("--seed") { Description = "Same model, request and seed = same text" };
        var stop = new Option<string[]>("--stop") { Description = "Stop before this string (repeatable, up to 4)", AllowMultipleArgumentsPerToken = false };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep going after the end-of-sentence token" };
        var variation = new Option<double?>("--variation") { Description = "With a prompt: 0 = its mean code, 1 = a posterior sample, more = further away" };
        var latentSource = new Option<string?>("--latent-source") { Description = "Without a prompt: prior or generator (the latent GAN)" };
        var latentTemperature = new Option<double?>("--latent-temperature") { Description = "Without a prompt: scale of the code's noise; below 1 = more typical text (default: the model's)" };
        var lmWeight = new Option<double?>("--lm-weight") { Description = "Mix the model's own plain language model in at this weight, 0 to 1 (default: the model's for unconditioned text)" };
        latentSource.AcceptOnlyFromAmong("prior", "generator");
        var bestOf = new Option<int?>("--best-of") { Description = "Generate this many candidates and keep the one the discriminator likes best" };
        var model = ModelOption.Create();
        var command = new Command("generate", "Stream generated text (text related to PROMPT, or unconditioned)")
        {
            prompt, maxTokens, temperature, topK, topP, minP, repetitionPenalty, seed, stop, ignoreEos, variation, latentSource, latentTemperature, lmWeight, bestOf, model,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new GenerateRequest
            {
                Prompt = parse.GetValue(prompt) ?? "",
                IgnoreEos = parse.GetValue(ignoreEos),
                BestOf = parse.GetValue(bestOf) ?? 0,
                LatentSource = ChatRequestMapping.ParseLatentSource(parse.GetValue(latentSource)),
                Stop = { parse.GetValue(stop) ?? [] },
                Model = parse.GetValue(model) ?? "",
            };
            request.WithSampling(parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(topP), parse.GetValue(topK),
                parse.GetValue(minP), parse.GetValue(repetitionPenalty), parse.GetValue(variation), parse.GetValue(seed), parse.GetValue(latentTemperature),
                parse.GetValue(lmWeight));
            using var cli = context(parse);
            return await RunAsync(cli, request, cancellationToken);
        });
        return command;
    }

    public static async Task<int> RunAsync(CliContext cli, GenerateRequest request, CancellationToken cancellationToken)
    {
        GenerateFinal? final = null;
        try
        {
            await cli.CallAsync("generator", async () =>
            {
                await foreach (var response in cli.Mesh.GenerateStreamingAsync(request, cancellationToken))
                {
                    if (cli.Json)
                    {
                        cli.WriteJsonLine(response);
                    }
                    else if (response.Chunk is { } chunk)
                    {
                        await cli.Output.WriteAsync(chunk.Text);
                        await cli.Output.FlushAsync(cancellationToken);
                    }
                    final = response.Final ?? final;
                }
            });
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or CliException)
        {
            // Leaving the stream cancelled the call: the generator has stopped decoding.
            if (!cli.Json)
            {
                await cli.Output.WriteLineAsync();
            }
            await cli.Error.WriteLineAsync("llmmesh: generation cancelled");
            return ExitCodes.Cancelled;
        }
        if (final is null)
        {
            throw new CliException("the generator's stream ended without a final message");
        }
        if (!cli.Json)
        {
            await cli.Output.WriteLineAsync();
            await cli.Error.WriteLineAsync(Summary(final));
        }
        return ExitCodes.Success;
    }

    public static string Summary(GenerateFinal final)
    {
        var parts = new List<string>
        {
            final.FinishReason == "stop" ? $"stop \"{final.StopSequence}\"" : final.FinishReason,
            $"{final.Usage.CompletionTokens} tokens",
            string.Create(CultureInfo.InvariantCulture, $"{final.Timings.TokensPerSecond:F0} tok/s"),
            string.Create(CultureInfo.InvariantCulture, $"first token {final.Timings.TimeToFirstTokenMs:F1} ms"),
            $"seed {final.Seed}",
            $"z from {final.LatentSource}",
        };
        if (final.Candidates > 1)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"best of {final.Candidates} (p(real) {final.Probability:F3})"));
        }
        parts.Add($"bundle {final.BundleVersion}");
        return "[" + string.Join(" · ", parts) + "]";
    }
}
