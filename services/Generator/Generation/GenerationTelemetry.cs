using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmMesh.Generator.Generation;

/// <summary>
/// Generation spans and metrics named after the OpenTelemetry GenAI semantic conventions
/// (gen_ai.server.request.duration, gen_ai.server.time_to_first_token,
/// gen_ai.server.time_per_output_token, gen_ai.client.token.usage).
/// </summary>
public sealed class GenerationTelemetry
{
    public const string SourceName = "LlmMesh.Generator";
    public const string Operation = "text_completion";
    public const string Provider = "llmmesh";
    private static readonly double[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384];
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] TokenTimeBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5];

    public static readonly ActivitySource Source = new(SourceName);

    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<int> _batchSize;

    public GenerationTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(SourceName);
        _requestDuration = meter.CreateHistogram("gen_ai.server.request.duration", unit: "s",
            description: "Generative AI server request duration such as time-to-last byte or last output token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _timeToFirstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", unit: "s",
            description: "Time to generate first token for successful responses",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _timePerOutputToken = meter.CreateHistogram("gen_ai.server.time_per_output_token", unit: "s",
            description: "Time per output token generated after the first token for successful responses",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TokenTimeBuckets });
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", unit: "{token}",
            description: "Number of input and output tokens used",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets.Select(b => (long)b).ToArray() });
        _batchSize = meter.CreateHistogram("llmmesh.generator.batch.size", unit: "{sequence}",
            description: "Sequences decoded together in one batched decoder step (continuous batching)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });
    }

    public void RecordBatch(int sequences) => _batchSize.Record(sequences);

    public static Activity? StartGeneration(string model, GenerationRequest request)
    {
        var activity = Source.StartActivity($"{Operation} {model}", ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag("gen_ai.operation.name", Operation);
            activity.SetTag("gen_ai.provider.name", Provider);
            activity.SetTag("gen_ai.request.model", model);
            activity.SetTag("gen_ai.request.max_tokens", request.MaxTokens);
            activity.SetTag("gen_ai.request.temperature", request.Sampling.Temperature);
            activity.SetTag("gen_ai.request.top_p", request.Sampling.TopP);
            activity.SetTag("gen_ai.request.top_k", request.Sampling.TopK);
            activity.SetTag("gen_ai.request.seed", (long)request.Seed);
        }
        return activity;
    }

    public void Record(string model, string finishReason, int promptTokens, int completionTokens,
        TimeSpan duration, TimeSpan? timeToFirstToken, Activity? activity)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", Operation },
            { "gen_ai.provider.name", Provider },
            { "gen_ai.request.model", model },
        };
        _requestDuration.Record(duration.TotalSeconds, tags);
        if (timeToFirstToken is { } first)
        {
            _timeToFirstToken.Record(first.TotalSeconds, tags);
            if (completionTokens > 1)
            {
                _timePerOutputToken.Record((duration - first).TotalSeconds / (completionTokens - 1), tags);
            }
        }
        var input = tags;
        input.Add("gen_ai.token.type", "input");
        _tokenUsage.Record(promptTokens, input);
        var output = tags;
        output.Add("gen_ai.token.type", "output");
        _tokenUsage.Record(completionTokens, output);

        activity?.SetTag("gen_ai.response.finish_reasons", new[] { finishReason });
        activity?.SetTag("gen_ai.usage.input_tokens", promptTokens);
        activity?.SetTag("gen_ai.usage.output_tokens", completionTokens);
    }
}
