using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmMesh.Bench;

/// <summary>
/// Merges the parts of one scripts/bench.sh run into bench/results.json: the headline figures
/// (primary backend), each backend's figures, the target ratios and the raw parts.
/// </summary>
public static class BenchReport
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var parts = new Parts(options.Get("parts", ""));
        var output = options.Get("out", "bench/results.json");
        var primary = options.Get("primary", "onnx");

        var backends = new JsonObject();
        foreach (var backend in new[] { "onnx", "torch" }.Where(b => parts.Exists($"serving-{b}.json")))
        {
            backends[backend] = BackendFigures(parts.Read($"serving-{backend}.json"), parts.Read($"inprocess-{backend}.json"));
        }
        var main = backends[primary] ?? throw new InvalidDataException($"no serving results for the primary backend {primary}");
        var report = Headline(primary, main, parts.Read("decode-step.json"));
        report["backends"] = backends;
        report["machine"] = new JsonObject
        {
            ["processors"] = Environment.ProcessorCount,
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        };
        report["generated_at"] = DateTime.UtcNow.ToString("O");
        var indented = new JsonSerializerOptions { WriteIndented = true };
        await File.WriteAllTextAsync(output, report.ToJsonString(indented) + "\n");
        var headline = new JsonObject(report.Where(p => p.Key is not ("backends" or "decode_step" or "machine"))
            .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        Console.WriteLine(headline.ToJsonString(indented));
        return 0;
    }

    /// <summary>The JSON files one bench.sh run wrote into its parts folder.</summary>
    private sealed class Parts(string folder)
    {
        public bool Exists(string name) => File.Exists(Path.Combine(folder, name));

        public JsonNode Read(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder, name)))
            ?? throw new InvalidDataException($"{name} is empty");
    }

    /// <summary>One backend's figures: throughput and latency under load, the mesh against in-process decoding, memory.</summary>
    private static JsonObject BackendFigures(JsonNode serving, JsonNode inProcess)
    {
        double Load(int concurrency, string key) => serving["loads"]![$"c{concurrency}"]![key]!.GetValue<double>();
        var single = Load(1, "stream_tokens_per_s_p50");
        var inProcessRate = inProcess["stream_tokens_per_s_p50"]!.GetValue<double>();
        return new JsonObject
        {
            ["single_stream_tokens_per_s"] = single,
            ["inprocess_tokens_per_s"] = inProcessRate,
            ["aggregate_tokens_per_s_c1"] = Load(1, "aggregate_tokens_per_s"),
            ["aggregate_tokens_per_s_c8"] = Load(8, "aggregate_tokens_per_s"),
            ["aggregate_tokens_per_s_c32"] = Load(32, "aggregate_tokens_per_s"),
            ["aggregate_tokens_per_s_c64"] = Load(64, "aggregate_tokens_per_s"),
            ["ttft_p50_ms_c1"] = Load(1, "ttft_p50_ms"),
            ["ttft_p99_ms_c32"] = Load(32, "ttft_p99_ms"),
            ["inter_token_p50_ms_c1"] = Load(1, "inter_token_p50_ms"),
            ["inter_token_p99_ms_c32"] = Load(32, "inter_token_p99_ms"),
            ["ratios"] = new JsonObject
            {
                ["aggregate_c32_over_single_stream"] = Ratio(Load(32, "aggregate_tokens_per_s"), single),
                ["mesh_over_inprocess"] = Ratio(single, inProcessRate),
                ["ttft_p99_c32_over_p50_c1"] = Ratio(Load(32, "ttft_p99_ms"), Load(1, "ttft_p50_ms")),
            },
            ["memory_idle_mb"] = serving["memory_idle_mb"]!.DeepClone(),
            ["memory_peak_mb_c64"] = serving["memory_peak_mb_c64"]?.DeepClone(),
            ["serving"] = serving.DeepClone(),
            ["inprocess"] = inProcess.DeepClone(),
        };
    }

    /// <summary>The primary backend's figures, the decode step on both backends, the target ratios and whether each is met.</summary>
    private static JsonObject Headline(string primary, JsonNode main, JsonNode step)
    {
        double Main(string key) => main[key]!.GetValue<double>();
        var (torchStep, onnxStep) = (step["torch_step_ms_b1"]!.GetValue<double>(), step["onnx_step_ms_b1"]!.GetValue<double>());
        var ratios = main["ratios"]!;
        double RatioOf(string key) => ratios[key]!.GetValue<double>();
        return new JsonObject
        {
            ["primary_backend"] = primary,
            ["bundle_version"] = main["serving"]!["bundle_version"]!.DeepClone(),
            ["single_stream_tokens_per_s"] = Main("single_stream_tokens_per_s"),
            ["inprocess_tokens_per_s"] = Main("inprocess_tokens_per_s"),
            ["aggregate_tokens_per_s_c32"] = Main("aggregate_tokens_per_s_c32"),
            ["ttft_p50_ms_c1"] = Main("ttft_p50_ms_c1"),
            ["ttft_p99_ms_c32"] = Main("ttft_p99_ms_c32"),
            ["torch_step_ms_b1"] = torchStep,
            ["onnx_step_ms_b1"] = onnxStep,
            ["torch_step_ms_b32"] = step["torch_step_ms_b32"]!.DeepClone(),
            ["onnx_step_ms_b32"] = step["onnx_step_ms_b32"]!.DeepClone(),
            ["ratios"] = new JsonObject
            {
                ["aggregate_c32_over_single_stream"] = RatioOf("aggregate_c32_over_single_stream"),
                ["mesh_over_inprocess"] = RatioOf("mesh_over_inprocess"),
                ["ttft_p99_c32_over_p50_c1"] = RatioOf("ttft_p99_c32_over_p50_c1"),
                ["onnx_over_torch_step_b1"] = Ratio(onnxStep, torchStep),
            },
            ["targets_met"] = new JsonObject
            {
                ["aggregate_c32_at_least_5x_single"] = RatioOf("aggregate_c32_over_single_stream") >= 5,
                ["mesh_at_least_0_8x_inprocess"] = RatioOf("mesh_over_inprocess") >= 0.8,
                ["ttft_p99_c32_at_most_3x_p50_c1"] = RatioOf("ttft_p99_c32_over_p50_c1") <= 3,
                ["onnx_step_at_most_0_5x_torch_b1"] = onnxStep / torchStep <= 0.5,
            },
            ["decode_step"] = step.DeepClone(),
        };
    }

    private static double Ratio(double numerator, double denominator) => Math.Round(numerator / denominator, 3);
}
