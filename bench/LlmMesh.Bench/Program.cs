using LlmMesh.Bench;

return args.FirstOrDefault() switch
{
    "detokenize" => await DetokenizeBenchmark.RunAsync(args[1..]),
    "stream" => await StreamBenchmark.RunAsync(args[1..]),
    "samples" => await SamplesCommand.RunAsync(args[1..]),
    "bleu" => await BleuBenchmark.RunAsync(args[1..]),
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
              token, tokens/s per stream and in aggregate
          samples --generator http://127.0.0.1:7103 [--count 10] [--temperature 0.8] [--top-p 0.95] [--variation 1]
                  [--latent-source prior|generator] [--prompts no]
              unconditioned and prompt-conditioned samples
          bleu [--corpus data/coco/train.txt]
              Texygen BLEU-2..5 and Self-BLEU-2..5 of 10,000 captions against 10,000 references, timed
        """);
    return 2;
}
