using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using LlmMesh.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Evaluation;

namespace LlmMesh.Cli.Commands;

/// <summary>
/// llmmesh eval: evaluates the model the mesh serves, through the mesh. Draws samples from the
/// generator (seeds seed..seed+n-1), scores them with the discriminator when it serves a model,
/// and measures them: Self-BLEU-2..5, distinct-1/2 and length always; with --references, BLEU-2..5
/// and reverse perplexity too; with --training as well, forward perplexity and training copies.
/// </summary>
public static class EvalCommand
{
    private const int ScoreBatch = 256;

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var samples = new Option<int>("--samples") { Description = "Samples to draw", DefaultValueFactory = _ => 100 };
        var references = new Option<string?>("--references") { Description = "Held-out sentences, one per line (BLEU, reverse perplexity)" };
        var training = new Option<string?>("--training") { Description = "The training text, one sentence per line (forward perplexity, copies)" };
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature (default 1)" };
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling in (0, 1]" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens per sample" };
        var latentSource = new Option<string?>("--latent-source") { Description = "prior or generator (default: the bundle's latent generator if it has one)" };
        latentSource.AcceptOnlyFromAmong("prior", "generator");
        var seed = new Option<ulong>("--seed") { Description = "Seed of the first sample", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "Generations in flight", DefaultValueFactory = _ => 8 };
        var show = new Option<int>("--show") { Description = "Samples to print", DefaultValueFactory = _ => 5 };
        var command = new Command("eval", "Evaluate the served model on samples drawn through the mesh")
        {
            samples, references, training, temperature, topP, maxTokens, latentSource, seed, concurrency, show,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var count = parse.GetValue(samples);
            if (count < 2 || parse.GetValue(concurrency) < 1)
            {
                throw new CliException("--samples must be at least 2 and --concurrency at least 1", ExitCodes.BadArguments);
            }
            var template = new GenerateRequest { LatentSource = ChatRequestMapping.ParseLatentSource(parse.GetValue(latentSource)) }
                .WithSampling(parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(topP));
            var referenceLines = ReadLines(parse.GetValue(references));
            var trainingLines = ReadLines(parse.GetValue(training));
            using var cli = context(parse);
            var texts = await SampleAsync(cli, template, count, parse.GetValue(seed), parse.GetValue(concurrency), cancellationToken);
            var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
            foreach (var (name, value) in Measure(texts.Select(f => f.Text).ToArray(), referenceLines, trainingLines))
            {
                metrics[name] = value;
            }
            foreach (var (name, value) in await ScoreAsync(cli, texts.Select(f => f.Text).ToArray(), cancellationToken))
            {
                metrics[name] = value;
            }
            metrics["mean_completion_tokens"] = texts.Average(f => f.Usage.CompletionTokens);
            var bundle = texts[0].BundleVersion;
            if (cli.Json)
            {
                cli.WriteJson(new { bundle_version = bundle, metrics, samples = texts.Select(f => f.Text) });
                return ExitCodes.Success;
            }
            await cli.Output.WriteAsync(Table.Format(["METRIC", "VALUE"],
                metrics.Select(kv => new[] { kv.Key, kv.Value.ToString("G5", CultureInfo.InvariantCulture) })));
            foreach (var text in texts.Take(parse.GetValue(show)))
            {
                await cli.Output.WriteLineAsync($"  > {text.Text}");
            }
            await cli.Error.WriteLineAsync($"[{texts.Count} samples · bundle {bundle}]");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Text metrics of the samples; the reference- and training-based ones only with those texts.</summary>
    public static IReadOnlyDictionary<string, double> Measure(IReadOnlyList<string> samples, IReadOnlyList<string>? references, IReadOnlyList<string>? training)
    {
        if (references is { Count: > 0 })
        {
            var report = new TextEvaluator(references, training ?? references).Evaluate(samples).ToMetrics();
            return training is null
                ? report.Where(m => m.Key is not ("train_copy_rate" or "forward_ppl")).ToDictionary()
                : report;
        }
        var words = samples.Select(WordTokenizer.Tokenize).ToArray();
        var vocabulary = new WordVocabulary();
        var ids = words.Select(vocabulary.GetOrAdd).ToArray();
        var selfBleu = TextQuality.SelfBleu(ids);
        return new Dictionary<string, double>
        {
            ["samples"] = samples.Count,
            ["self_bleu2"] = selfBleu.Bleu2,
            ["self_bleu3"] = selfBleu.Bleu3,
            ["self_bleu4"] = selfBleu.Bleu4,
            ["self_bleu5"] = selfBleu.Bleu5,
            ["distinct_1"] = TextQuality.Distinct(ids, 1),
            ["distinct_2"] = TextQuality.Distinct(ids, 2),
            ["mean_words"] = words.Average(w => w.Length),
        };
    }

    private static async Task<IReadOnlyList<GenerateFinal>> SampleAsync(
        CliContext cli, GenerateRequest template, int count, ulong seed, int concurrency, CancellationToken cancellationToken)
    {
        var finals = new GenerateFinal[count];
        var done = 0;
        await cli.CallAsync("generator", () => Parallel.ForAsync(0, count,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var request = template.Clone();
                request.Seed = seed + (ulong)i;
                finals[i] = await cli.Mesh.GenerateAsync(request, token);
                var finished = Interlocked.Increment(ref done);
                if (cli.Interactive && !cli.Json)
                {
                    await cli.Error.WriteAsync($"\rsampling {finished}/{count}");
                }
            }));
        if (cli.Interactive && !cli.Json)
        {
            await cli.Error.WriteLineAsync();
        }
        return finals;
    }

    /// <summary>Mean discriminator probability and fluency of the samples; none when the discriminator serves no model.</summary>
    private static async Task<IReadOnlyDictionary<string, double>> ScoreAsync(CliContext cli, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var results = new List<ScoreResponse>();
        try
        {
            foreach (var batch in texts.Where(t => t.Length > 0).Chunk(ScoreBatch))
            {
                results.AddRange((await cli.Mesh.ScoreTextsAsync(batch, cancellationToken: cancellationToken)).Results);
            }
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.FailedPrecondition)
        {
            await cli.Error.WriteLineAsync($"llmmesh: no discriminator scores ({ex.Status.Detail})");
            return new Dictionary<string, double>();
        }
        catch (RpcException ex)
        {
            throw CliErrors.Describe(ex, "discriminator", cli.Addresses.Discriminator);
        }
        return results.Count == 0 ? new Dictionary<string, double>() : new Dictionary<string, double>
        {
            ["discriminator_probability"] = results.Average(r => r.Probability),
            ["discriminator_fluency"] = results.Average(r => r.Fluency),
        };
    }

    private static string[]? ReadLines(string? path)
    {
        if (path is null)
        {
            return null;
        }
        if (!File.Exists(path))
        {
            throw new CliException($"no such file: {path}", ExitCodes.BadArguments);
        }
        return File.ReadLines(path).Where(line => line.Trim().Length > 0).ToArray();
    }
}
