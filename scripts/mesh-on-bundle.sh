# Sourced by scripts/bench.sh and scripts/soak.sh: a Release mesh on one model bundle, on its own
# ports, so that a running mesh is not disturbed.

# resolve_bundle [DIR]: sets $bundle (absolute) and $store; default: the newest bundle in .data/models.
resolve_bundle() {
  bundle="${1:-}"
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
}

host_pid=""
stop_host() {
  if [[ -n "$host_pid" ]]; then
    kill -TERM -- "-$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
    host_pid=""
  fi
}

# start_mesh DATA PORTS DASHBOARD LOG [APPHOST ARGS...]: the mesh over a fresh store in DATA holding
# $bundle and the vocabularies, services on ports PORTS00-PORTS05 (gateway, tokenizer, encoder,
# generator, discriminator, trainer), dashboard on DASHBOARD, DASHBOARD+1 (OTLP), DASHBOARD+2; sets $host_pid.
start_mesh() {
  local data="$1" ports="$2" dashboard="$3" log="$4"
  shift 4
  mkdir -p "$data/models/bundles"
  cp -r "$store/tokenizer" "$data/models/"
  cp -r "$bundle" "$data/models/bundles/"
  ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPIRE_ALLOW_UNSECURED_TRANSPORT=true \
  ASPNETCORE_URLS="http://127.0.0.1:$dashboard" ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$((dashboard + 1))" \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://127.0.0.1:$((dashboard + 2))" \
  setsid dotnet AppHost/bin/Release/net10.0/LlmMesh.AppHost.dll \
    --LlmMesh:DataDirectory="$data" --LlmMesh:AutoTrainPreset= \
    --LlmMesh:Ports:gateway="${ports}00" --LlmMesh:Ports:tokenizer="${ports}01" --LlmMesh:Ports:encoder="${ports}02" \
    --LlmMesh:Ports:generator="${ports}03" --LlmMesh:Ports:discriminator="${ports}04" --LlmMesh:Ports:trainer="${ports}05" \
    "$@" > "$log" 2>&1 &
  host_pid=$!
}
