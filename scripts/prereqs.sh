#!/usr/bin/env bash
# Installs what LlmMesh needs beyond the .NET SDK, only when missing. Idempotent.
# As root it installs through apt; otherwise it prints the exact command to run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
# NLTK re-checks the BLEU implementation in the tests (Debian's python, not a pyenv one).
/usr/bin/python3 -c 'import nltk' >/dev/null 2>&1 || apt_packages+=(python3-nltk)
# The evaluation's non-word rate looks words up in the system dictionary.
[ -f /usr/share/dict/words ] || apt_packages+=(wamerican)
# The playground's browser tests drive Debian's Chromium (Playwright cannot download browsers here).
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)

if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "prereqs: installing ${apt_packages[*]} with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The package must not start a system broker: ours runs privately under the AppHost.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "prereqs: missing ${apt_packages[*]}. Run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${apt_packages[*]}" >&2
    exit 1
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "prereqs: the .NET SDK 10.0.401 (or a later 10.0 feature band) is required: https://dot.net" >&2
  exit 1
fi

# The S3 model store's tests run against moto's S3-compatible server (Debian packages no S3 server).
if ! command -v moto_server >/dev/null 2>&1; then
  echo "prereqs: installing moto[server] with pip"
  if ! python3 -m pip install --quiet --user 'moto[server]>=5,<6'; then
    echo "prereqs: moto_server is missing and pip could not install it; install moto[server] 5.x so that moto_server is on PATH" >&2
    exit 1
  fi
fi
