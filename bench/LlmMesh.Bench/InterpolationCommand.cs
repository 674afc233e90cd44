using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using LlmMesh.Contracts.V1;
using LlmMesh.Evaluation;

namespace LlmMesh.Bench;

/// <summary>
/// How good the latent paths between unseen sentences are: for pairs of held-out captions of the
/// served bundle, Interpolate (greedy), then the ends against the sentences' own reconstructions
/// (Generate from the prompt's mean code, greedy) and against the captions (BLEU-4), and the
/// discriminator's probability that each step is real, next to the held-out captions' own.
/// </summary>
public static class InterpolationCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var heldOut = File.ReadAllLines(options.Get("heldout", "split-heldout.txt")).Where(l => l.Trim().Length > 0).Distinct().ToArray();
        var pairs = int.Parse(options.Get("pairs", "100"), CultureInfo.InvariantCulture);
        var steps = int.Parse(options.Get("steps", "8"), CultureInfo.InvariantCulture);
        using var generatorChannel = GrpcChannel.ForAddress(options.Get("generator", "http://127.0.0.1:7103"));
        using var discriminatorChannel = GrpcChannel.ForAddress(options.Get("discriminator", "http://127.0.0.1:7104"));
        var generator = new Generator.GeneratorClient(generatorChannel);
        var discriminator = new Discriminator.DiscriminatorClient(discriminatorChannel);
        var info = await generator.GetModelInfoAsync(new GetModelInfoRequest());

        var random = new Random(int.Parse(options.Get("seed", "1"), CultureInfo.InvariantCulture));
        var chosen = heldOut.OrderBy(_ => random.Next()).Take(2 * pairs).ToArray();
        var paths = new List<string[]>();
        var reconstructions = new Dictionary<string, string>();
        for (var p = 0; p < pairs; p++)
        {
            var (start, end) = (chosen[2 * p], chosen[2 * p + 1]);
            paths.Add(await InterpolateAsync(generator, start, end, steps, info.BundleVersion));
            foreach (var caption in new[] { start, end })
            {
                reconstructions[caption] = await ReconstructAsync(generator, caption, info.BundleVersion);
            }
        }

        var starts = Enumerable.Range(0, pairs).Select(p => chosen[2 * p]).ToArray();
        var ends = Enumerable.Range(0, pairs).Select(p => chosen[2 * p + 1]).ToArray();
        var firstSteps = paths.Select(path => path[0]).ToArray();
        var lastSteps = paths.Select(path => path[^1]).ToArray();
        var middle = paths.SelectMany(path => path[1..^1]).ToArray();
        var result = new Dictionary<string, object>
        {
            ["bundle"] = info.BundleVersion,
            ["pairs"] = pairs,
            ["steps"] = steps,
            ["ends_equal_reconstruction"] = (firstSteps.Zip(starts).Count(x => x.First == reconstructions[x.Second])
                + lastSteps.Zip(ends).Count(x => x.First == reconstructions[x.Second])) / (2.0 * pairs),
            ["start_bleu4"] = TextEvaluator.PairedBleu4(firstSteps, starts),
            ["end_bleu4"] = TextEvaluator.PairedBleu4(lastSteps, ends),
            ["p_real_middle"] = await MeanProbabilityAsync(discriminator, middle, info.BundleVersion),
            ["p_real_ends"] = await MeanProbabilityAsync(discriminator, [.. firstSteps, .. lastSteps], info.BundleVersion),
            ["p_real_heldout_captions"] = await MeanProbabilityAsync(discriminator, chosen, info.BundleVersion),
            ["distinct_sentences_per_path"] = paths.Average(path => path.Distinct().Count()),
        };
        foreach (var path in paths.Take(int.Parse(options.Get("show", "3"), CultureInfo.InvariantCulture)))
        {
            Console.WriteLine(string.Join("\n", path.Select((text, i) => $"  {i}: {text}")) + "\n");
        }
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(json);
        if (options.Get("out", "") is { Length: > 0 } file)
        {
            await File.WriteAllTextAsync(file, json);
        }
        return 0;
    }

    private static async Task<string[]> InterpolateAsync(Generator.GeneratorClient generator, string start, string end, int steps, string bundle)
    {
        var texts = new string[steps];
        using var call = generator.Interpolate(new InterpolateRequest { Start = start, End = end, Steps = steps, Model = bundle, MaxTokens = 40 });
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Step is { } step)
            {
                texts[step.Index] = step.Text;
            }
        }
        return texts;
    }

    private static async Task<string> ReconstructAsync(Generator.GeneratorClient generator, string caption, string bundle)
    {
        using var call = generator.Generate(new GenerateRequest { Prompt = caption, Variation = 0, Temperature = 0, MaxTokens = 40, Model = bundle });
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Final is { } final)
            {
                return final.Text;
            }
        }
        throw new InvalidOperationException("the generation ended without a final message");
    }

    private static async Task<double> MeanProbabilityAsync(Discriminator.DiscriminatorClient discriminator, IReadOnlyList<string> texts, string bundle)
    {
        var scores = new List<double>();
        foreach (var batch in texts.Where(t => t.Trim().Length > 0).Chunk(64))
        {
            var request = new ScoreBatchRequest { Model = bundle };
            request.Inputs.AddRange(batch.Select(t => new ScoreInput { Text = t }));
            scores.AddRange((await discriminator.ScoreBatchAsync(request)).Results.Select(r => r.Probability));
        }
        return scores.Average();
    }
}
