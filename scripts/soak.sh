#!/usr/bin/env bash
# The soak test (issue 9): the mesh (AppHost, Release, all serving services on ONNX, its own ports
# 73xx and dashboard 190xx) on one bundle, the generator's capacity measured, then 5 minutes of
# warm-up and 15 measured minutes with 80% of its decoding places busy (--mode open: streams
# started at 80% of the measured rate), one in four with a prompt: errors, latency and service
# memory per minute. Writes docs/soak.json; exits 1 unless no errors, memory growth after the
# warm-up < 10% and TTFT p99 stable.
# usage: scripts/soak.sh [--bundle DIR] [--minutes 15] [--warmup-minutes 5] [--load 0.8] [--mode closed|open] [--out FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bundle="" minutes=15 warmup=5 load=0.8 mode=closed out="docs/soak.json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --warmup-minutes) warmup="$2"; shift 2 ;;
    --load) load="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/soak.sh [--bundle DIR] [--minutes 15] [--warmup-minutes 5] [--load 0.8] [--mode closed|open] [--out FILE]" >&2; exit 2 ;;
  esac
done
source scripts/mesh-on-bundle.sh
resolve_bundle "$bundle"

data="$(mktemp -d -t llmmesh-soak-XXXXXX)"
trap 'stop_host; rm -rf "$data"' EXIT

dotnet build AppHost/LlmMesh.AppHost.csproj -c Release -nologo -v quiet
dotnet build bench/LlmMesh.Bench/LlmMesh.Bench.csproj -c Release -nologo -v quiet
start_mesh "$data" 73 19088 "$data/apphost.log"
if ! dotnet bench/LlmMesh.Bench/bin/Release/net10.0/LlmMesh.Bench.dll soak --generator http://127.0.0.1:7303 \
    --data-directory "$data" --minutes "$minutes" --warmup-minutes "$warmup" --load "$load" --mode "$mode" --out "$out"; then
  tail -n 40 "$data/apphost.log" >&2
  exit 1
fi
