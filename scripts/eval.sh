#!/usr/bin/env bash
# Evaluates a published model bundle: Texygen BLEU-2..5 and Self-BLEU-2..5, verbatim training
# copies, forward/reverse 5-gram Kneser-Ney perplexity, held-out NLL/KL/reconstruction BLEU and a
# temperature sweep (sweep.csv + sweep.png). Writes metrics.json and samples.txt to --out.
#   scripts/eval.sh --bundle DIR --references FILE --samples N --out DIR
# Without --bundle it takes the latest bundle of the default model store (.data/models).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dotnet build "$root/tools/LlmMesh.Eval/LlmMesh.Eval.csproj" -nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet "$root/tools/LlmMesh.Eval/bin/Debug/net10.0/linux-x64/llmmesh-eval.dll" "$@"
