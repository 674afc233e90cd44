#!/usr/bin/env bash
# The serving benchmark in one run (about 5-8 minutes on 2 cores) on one bundle:
#   - the mesh (AppHost, Release) once per generator backend (Onnx, Torch), each driven by the
#     bounded load generator at concurrency 1, 8, 32 and 64, with service memory idle and under load;
#   - the in-process generation loop on the same bundle, per backend (the mesh-overhead baseline);
#   - Torch vs ONNX decode step at batch 1 and 32 (BenchmarkDotNet);
# then writes bench/results.json (headline figures for the ONNX backend, both backends' figures,
# target ratios). Uses its own ports (72xx, dashboard 189xx), so a running mesh is not disturbed.
# usage: scripts/bench.sh [--bundle DIR] [--out FILE]   (default bundle: the newest in .data/models)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bundle=""
out="bench/results.json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/bench.sh [--bundle DIR] [--out FILE]" >&2; exit 2 ;;
  esac
done
source scripts/mesh-on-bundle.sh
resolve_bundle "$bundle"
echo "bench: bundle $bundle" >&2

work="$(mktemp -d -t llmmesh-bench-XXXXXX)"
parts="$work/parts"
mkdir -p "$parts"
trap 'stop_host; rm -rf "$work"' EXIT

scripts/prereqs.sh
dotnet build AppHost/LlmMesh.AppHost.csproj -c Release -nologo -v quiet
dotnet build bench/LlmMesh.Bench/LlmMesh.Bench.csproj -c Release -nologo -v quiet
dotnet build bench/LlmMesh.Bench.InProcess/LlmMesh.Bench.InProcess.csproj -c Release -nologo -v quiet
bench() { dotnet bench/LlmMesh.Bench/bin/Release/net10.0/LlmMesh.Bench.dll "$@"; }
inprocess() { dotnet bench/LlmMesh.Bench.InProcess/bin/Release/net10.0/linux-x64/LlmMesh.Bench.InProcess.dll "$@"; }

for backend in Onnx Torch; do
  label="${backend,,}"
  data="$work/mesh-$label"
  echo "bench: mesh on $backend" >&2
  start_mesh "$data" 72 18988 "$work/apphost-$label.log" \
    --LlmMesh:Backends:Encoder="$backend" --LlmMesh:Backends:Generator="$backend" --LlmMesh:Backends:Discriminator="$backend"
  if ! bench serving --generator http://127.0.0.1:7203 --data-directory "$data" --out "$parts/serving-$label.json"; then
    tail -n 40 "$work/apphost-$label.log" >&2
    exit 1
  fi
  stop_host
  echo "bench: in-process loop on $backend" >&2
  inprocess loop --bundle "$bundle" --backend "$backend" --requests 96 --max-tokens 64 --json "$parts/inprocess-$label.json"
done

echo "bench: decode step, Torch vs ONNX (BenchmarkDotNet)" >&2
# BenchmarkDotNet builds its runner next to the project: run from the repository, artifacts aside.
if ! inprocess decode-step --bundle "$bundle" --json "$parts/decode-step.json" --artifacts "$work/decode-step" > "$work/decode-step.log"; then
  tail -n 40 "$work/decode-step.log" >&2
  exit 1
fi
grep -E '^\| *(Torch|Onnx) ' "$work/decode-step.log" >&2 || true

mkdir -p "$(dirname "$out")"
bench report --parts "$parts" --out "$out"
echo "bench: wrote $out" >&2
