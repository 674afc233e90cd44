using LlmMesh.Bench;

return args.FirstOrDefault() switch
{
    "detokenize" => await DetokenizeBenchmark.RunAsync(args[1..]),
    "stream" => await StreamBenchmark.RunAsync(args[1..]),
    "serving" => await ServingBenchmark.RunAsync(args[1..]),
    "report" => await BenchReport.RunAsync(args[1..]),
    "samples" => await SamplesCommand.RunAsync(args[1..]),
    "bleu" => await BleuBenchmark.RunAsync(args[1..]),
    "soak" => await SoakCommand.RunAsync(args[1..]),
    "interpolation" => await InterpolationCommand.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: dotnet run --project bench/LlmMesh.Bench -c Release -- <benchmark> [options]
          detokenize --tokenizer http://127.0.0.1:7101 --store .data/models [--sequences 200]
              per-token streaming detokenization: in process vs the tokenizer's DecodeStream
          stream --generator http://127.0.0.1:7103 [--requests 30] [--concurrency 1] [--max-tokens 64] [--prompt TEXT]
              a fixed number of streams through the mesh, --concurrency at a time: time to first
              token, inter-token latency, tokens/s per stream and in aggregate
          serving --generator URL --out FILE [--concurrency 1,8,32,64] [--max-tokens 64] [--duration 60] [--data-directory DIR]
              waits for the generator, then service memory at idle, a bounded load per concurrency
              (max(96, 8c) streams, none started after --duration s) and peak memory, as JSON
          report --parts DIR --out bench/results.json
              merges scripts/bench.sh's parts (serving-*.json, inprocess-*.json, decode-step.json) with the ratios
          samples --generator http://127.0.0.1:7103 [--count 10] [--temperature 0.8] [--top-p 0.95] [--variation 1]
                  [--latent-source prior|generator] [--prompts no]
              unconditioned and prompt-conditioned samples
          bleu [--corpus data/coco/train.txt]
              Texygen BLEU-2..5 and Self-BLEU-2..5 of 10,000 captions against 10,000 references, timed
          soak --generator URL --out FILE [--minutes 15] [--warmup-minutes 5] [--load 0.8] [--mode closed|open] [--max-tokens 64] [--data-directory DIR]
              measures capacity, then --load of it for --warmup-minutes and --minutes (closed: that share of
              the 32 decoding places busy; open: streams started at that share of the measured rate): errors,
              latency and service memory per minute; exit 1 unless no errors, memory growth after the
              warm-up < 10%, TTFT p99 stable
          interpolation --heldout BUNDLE/split-heldout.txt [--generator URL] [--discriminator URL] [--pairs 100] [--steps 8] [--out FILE]
              paths between held-out captions: ends against the captions' reconstructions and the captions
              (BLEU-4), the discriminator's mean P(real) of the middle steps, the ends and the captions
        """);
    return 2;
}
