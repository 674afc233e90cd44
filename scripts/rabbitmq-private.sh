#!/usr/bin/env bash
# Runs a private RabbitMQ broker (Debian's rabbitmq-server) in the foreground, bound to loopback,
# with all its state in BROKER_DIR and its own epmd. Started by the AppHost when no container
# runtime is available. The broker and epmd die with this script, however it ends.
set -euo pipefail
: "${BROKER_DIR:?}" "${BROKER_PORT:?}" "${BROKER_EPMD_PORT:?}" "${BROKER_DIST_PORT:?}" "${BROKER_USER:?}" "${BROKER_PASSWORD:?}"

server=/usr/lib/rabbitmq/bin/rabbitmq-server
if [ ! -x "$server" ]; then
  echo "rabbitmq-server is not installed: run scripts/prereqs.sh" >&2
  exit 1
fi

umask 077
mkdir -p "$BROKER_DIR"/home "$BROKER_DIR"/mnesia "$BROKER_DIR"/log
cat > "$BROKER_DIR/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:${BROKER_PORT}
default_user = ${BROKER_USER}
default_pass = ${BROKER_PASSWORD}
default_vhost = /
loopback_users = none
log.console = true
log.console.level = info
log.file = false
CONF
echo "[]." > "$BROKER_DIR/enabled_plugins"
echo "[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}]." > "$BROKER_DIR/advanced.config"
: > "$BROKER_DIR/rabbitmq-env.conf"
unset BROKER_PASSWORD

export HOME="$BROKER_DIR/home"
export RABBITMQ_NODENAME="llmmesh-${BROKER_PORT}@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$BROKER_PORT"
export RABBITMQ_DIST_PORT="$BROKER_DIST_PORT"
export ERL_EPMD_PORT="$BROKER_EPMD_PORT"
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE="$BROKER_DIR/mnesia"
export RABBITMQ_LOG_BASE="$BROKER_DIR/log"
export RABBITMQ_LOGS=-
export RABBITMQ_CONFIG_FILE="$BROKER_DIR/rabbitmq.conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$BROKER_DIR/advanced.config"
export RABBITMQ_ENABLED_PLUGINS_FILE="$BROKER_DIR/enabled_plugins"
export RABBITMQ_CONF_ENV_FILE="$BROKER_DIR/rabbitmq-env.conf"
export RABBITMQ_PID_FILE="$BROKER_DIR/rabbitmq.pid"
# Run the Erlang VM directly (no signal-forwarding wrapper) without reading stdin, so that the
# parent-death signal set by setpriv reaches the VM itself.
export RABBITMQ_ALLOW_INPUT=true
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-noinput"

setpriv --pdeathsig KILL epmd -port "$BROKER_EPMD_PORT" &
epmd_pid=$!
setpriv --pdeathsig TERM "$server" &
broker_pid=$!

stop() {
  kill -TERM "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  kill -TERM "$epmd_pid" 2>/dev/null || true
  wait "$epmd_pid" 2>/dev/null || true
  exit 0
}
trap stop TERM INT HUP

status=0
wait "$broker_pid" || status=$?
kill -TERM "$epmd_pid" 2>/dev/null || true
wait "$epmd_pid" 2>/dev/null || true
exit "$status"
