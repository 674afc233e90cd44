#!/usr/bin/env bash
# The soak test (issue 9): the mesh (AppHost, Release, all serving services on ONNX, its own ports
# 73xx and dashboard 190xx) on one bundle, the generator's capacity measured, then 15 minutes with
# 80% of its decoding places busy (--mode open: streams started at 80% of the measured rate), one in
# four with a prompt: errors, latency and service memory per minute.
# Writes docs/soak.json; exits 1 unless no errors, memory growth < 10% and TTFT p99 stable.
# usage: scripts/soak.sh [--bundle DIR] [--minutes 15] [--load 0.8] [--mode closed|open] [--out FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bundle="" minutes=15 load=0.8 mode=closed out="docs/soak.json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --load) load="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/soak.sh [--bundle DIR] [--minutes 15] [--load 0.8] [--mode closed|open] [--out FILE]" >&2; exit 2 ;;
  esac
done
if [[ -z "$bundle" ]]; then
  bundle="$(ls -d .data/models/bundles/*/ 2>/dev/null | sort | tail -n 1 || true)"
fi
bundle="${bundle%/}"
if [[ -z "$bundle" || ! -f "$bundle/manifest.json" ]]; then
  echo "no model bundle: run scripts/run.sh first (it trains the quick preset) or pass --bundle <bundle folder>" >&2
  exit 2
fi
bundle="$(cd "$bundle" && pwd)"
store="$(dirname "$(dirname "$bundle")")"

data="$(mktemp -d -t llmmesh-soak-XXXXXX)"
host_pid=""
cleanup() {
  if [[ -n "$host_pid" ]]; then
    kill -TERM -- "-$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT
mkdir -p "$data/models/bundles"
cp -r "$store/tokenizer" "$data/models/"
cp -r "$bundle" "$data/models/bundles/"

dotnet build AppHost/LlmMesh.AppHost.csproj -c Release -nologo -v quiet
dotnet build bench/LlmMesh.Bench/LlmMesh.Bench.csproj -c Release -nologo -v quiet
ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPIRE_ALLOW_UNSECURED_TRANSPORT=true \
ASPNETCORE_URLS=http://127.0.0.1:19088 ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:19089 \
ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:19090 \
setsid dotnet AppHost/bin/Release/net10.0/LlmMesh.AppHost.dll \
  --LlmMesh:DataDirectory="$data" --LlmMesh:AutoTrainPreset= \
  --LlmMesh:Ports:gateway=7300 --LlmMesh:Ports:tokenizer=7301 --LlmMesh:Ports:encoder=7302 \
  --LlmMesh:Ports:generator=7303 --LlmMesh:Ports:discriminator=7304 --LlmMesh:Ports:trainer=7305 \
  > "$data/apphost.log" 2>&1 &
host_pid=$!
if ! dotnet bench/LlmMesh.Bench/bin/Release/net10.0/LlmMesh.Bench.dll soak --generator http://127.0.0.1:7303 \
    --data-directory "$data" --minutes "$minutes" --load "$load" --mode "$mode" --out "$out"; then
  tail -n 40 "$data/apphost.log" >&2
  exit 1
fi
