#!/usr/bin/env bash
# Stops the sandbox daemons that setup.sh started (Prometheus, coturn, Pebble, PowerDNS, Redis), by pid file, and only
# if the pid still runs the expected program. Services it merely reused are never touched.
# Postgres and Docker are shared with the rest of the machine and stay up; `--docker` also stops
# a dockerd that setup.sh started itself (containers of other users would go down with it).
# State and secrets are kept: the next setup.sh resumes with the same data and keys.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=infra/bootstrap/services.sh
. "$HERE/services.sh"
check_state_dir

names=(prometheus:prometheus coturn:turnserver pebble:pebble pdns:pdns_server redis:redis-server)
[ "${1:-}" != --docker ] || names+=(dockerd:dockerd)

for entry in "${names[@]}"; do
  name=${entry%%:*}
  exe=${entry#*:}
  if pid=$(our_pid "$name" "$exe"); then
    stop_ours "$name" "$exe"
    log "$name: stopped (pid $pid)"
  else
    rm -f "$PARLEY_RUN_DIR/$name.pid"
    log "$name: not running from $PARLEY_RUN_DIR, nothing to stop"
  fi
done
