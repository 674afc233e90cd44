#!/usr/bin/env bash
# Runs every test: unit tests per service and integration tests against the real AppHost and
# broker. Fails when a test fails or when a test run leaves a process behind.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/prereqs.sh
# Where pip --user puts moto_server when the prerequisites had to install it.
export PATH="$PATH:$(python3 -m site --user-base)/bin"
npm ci --prefix tests/interop --no-audit --no-fund --silent

mesh_processes() { pgrep -f 'beam\.smp|epmd -port|LlmMesh\.|/dcp |moto_server' 2>/dev/null | sort || true; }
before="$(mesh_processes)"

dotnet test LlmMesh.sln -nologo "$@"

# Everything the tests started must be gone shortly after they end.
for _ in $(seq 1 20); do
  left="$(comm -13 <(echo "$before") <(mesh_processes) | grep -v '^$' || true)"
  [ -z "$left" ] && break
  sleep 1
done
if [ -n "$left" ]; then
  echo "test run left processes behind:" >&2
  ps -o pid,args -p $(echo "$left" | tr '\n' ',' | sed 's/,$//') >&2 || true
  exit 1
fi
