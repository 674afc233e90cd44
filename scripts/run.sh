#!/usr/bin/env bash
# The main job: starts the whole LlmMesh under the Aspire AppHost (broker, services, dashboard).
# The dashboard login URL is printed once it is up; Ctrl+C (or SIGTERM) stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/prereqs.sh
dotnet build AppHost/LlmMesh.AppHost.csproj -nologo -v quiet
exec dotnet run --project AppHost/LlmMesh.AppHost.csproj --no-build --launch-profile http "$@"
