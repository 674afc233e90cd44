#!/usr/bin/env bash
# Capacity with generator replicas (docs/deploy.md): the Release mesh on one bundle, once per
# replica count, driven by the serving benchmark with streams alternating between the replicas;
# writes bench/capacity-<n>.json (aggregate tokens/s, TTFT, memory per replica).
# usage: scripts/capacity.sh [--bundle DIR] [--replicas "1 2"]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bundle=""
counts="1 2"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --replicas) counts="$2"; shift 2 ;;
    *) echo "usage: scripts/capacity.sh [--bundle DIR] [--replicas \"1 2\"]" >&2; exit 2 ;;
  esac
done
source scripts/mesh-on-bundle.sh
resolve_bundle "$bundle"
work="$(mktemp -d -t llmmesh-capacity-XXXXXX)"
trap 'stop_host; rm -rf "$work"' EXIT

scripts/prereqs.sh
dotnet build AppHost/LlmMesh.AppHost.csproj -c Release -nologo -v quiet
dotnet build bench/LlmMesh.Bench/LlmMesh.Bench.csproj -c Release -nologo -v quiet
for replicas in $counts; do
  data="$work/mesh-$replicas"
  echo "capacity: $replicas generator replica(s) on $bundle" >&2
  start_mesh "$data" 72 18988 "$work/apphost-$replicas.log" --LlmMesh:Replicas:Generator="$replicas"
  # Replica n listens on the generator's port + 100 x (n - 1).
  addresses="$(seq 0 $((replicas - 1)) | awk '{ printf "%shttp://127.0.0.1:%d", (NR > 1 ? "," : ""), 7203 + 100 * $1 }')"
  dotnet bench/LlmMesh.Bench/bin/Release/net10.0/LlmMesh.Bench.dll serving --generator "$addresses" \
    --data-directory "$data" --out "bench/capacity-$replicas.json"
  stop_host
done
