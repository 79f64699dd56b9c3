#!/usr/bin/env bash
# Machine set-up for the Parley sandbox, from a fresh Debian 12 to running services and an env
# file: packages, Postgres, Redis, Docker, PowerDNS (+ platform zone), Pebble, coturn, Prometheus,
# then .parley/sandbox.env in the repo. Every step is idempotent: a second run reuses everything and
# takes seconds. Logs one line per step to stderr; prints nothing on stdout.
#
# Environment (all optional):
#   PARLEY_STATE_DIR   state, secrets, pid files, logs   (default /var/lib/parley-sandbox)
#   PLATFORM_ZONE      the platform's DNS zone            (default parley.test)
#   PARLEY_ENV_FILE    where to write the env file        (default <repo>/.parley/sandbox.env)
#   PARLEY_SKIP_PACKAGES=1  skip the apt step (packages known present)
#
# Not done here, on purpose (the repo's ./parley runs them after this script, once the env file
# is sourced): `npm ci` when node_modules is stale, prisma generate + migrations, and the XMPP
# image build (infra/image/build.sh). They need node_modules or the env file, this script needs
# neither.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the script too

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export PARLEY_STATE_DIR="${PARLEY_STATE_DIR:-/var/lib/parley-sandbox}"
export PLATFORM_ZONE="${PLATFORM_ZONE:-parley.test}"
ENV_FILE="${PARLEY_ENV_FILE:-$REPO/.parley/sandbox.env}"

# shellcheck source=infra/bootstrap/services.sh
. "$HERE/services.sh"

started=$(date +%s%N)

ensure_state_dir # coreutils only: fine before any package is installed
# Two set-ups at once (two terminals, ./parley test while ./parley up starts) would race for
# dpkg's lock, the same ports and the same secrets: serialize them. Daemons are started without
# fd 9 (without_fds), so the lock ends with this script.
exec 9>"$PARLEY_STATE_DIR/setup.lock"
flock -w 600 9 || die "another setup.sh has held $PARLEY_STATE_DIR/setup.lock for 10 minutes"

if [ "${PARLEY_SKIP_PACKAGES:-0}" != 1 ]; then
  "$HERE/install-packages.sh"
fi

ensure_postgres
ensure_redis
ensure_docker
reserve_published_ports
ensure_edge_network # before PowerDNS, which listens on its address
ensure_powerdns # before Pebble: Pebble resolves DNS-01 challenges through it
ensure_pebble
ensure_coturn # after Postgres (its secrets database) and the edge network (its addresses)
ensure_prometheus # scrapes the API, the worker and the hosted servers; alert rules from infra/prometheus

# Versioned key rings for secrets at rest ("<version>:<base64 key>"); each generated once.
# Rotating means adding a version, never replacing a file's content. The platform keyring (ACME
# account and certificate keys) is the worker's alone: ./parley does not hand it to the API.
# shellcheck disable=SC2016  # expanded by the inner sh, when the key is generated.
keyring=$(state_secret secrets-keyring sh -c 'printf "1:%s\n" "$(openssl rand -base64 32)"')
# shellcheck disable=SC2016
platform_keyring=$(state_secret platform-keyring sh -c 'printf "1:%s\n" "$(openssl rand -base64 32)"')
# The backup repository's password: without it no backup can be read, so production keeps a copy
# outside the platform (see the README). The worker creates the repository on first use.
backup_password=$(state_secret backup-password openssl rand -hex 32)

zone="${PLATFORM_ZONE%.}"
# Values are single-quoted: safe for `set -a; . FILE` and for dotenv parsers. None of them can
# hold a quote (hex/base64 secrets, a state dir restricted to [A-Za-z0-9._/-], a checked zone).
env_line() {
  case "$2" in *"'"* | *$'\n'*) die "env value for $1 holds a quote or newline" ;; esac
  printf "%s='%s'\n" "$1" "$2"
}
mkdir -p "$(dirname "$ENV_FILE")"
env_content=$(
  echo "# Written by infra/bootstrap/setup.sh: rewritten on every run, edits are lost."
  env_line PARLEY_MODE sandbox
  env_line PARLEY_STATE_DIR "$PARLEY_STATE_DIR"
  env_line DATABASE_URL "postgresql://parley:$PG_PASSWORD@127.0.0.1:$PG_PORT/parley"
  env_line REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
  env_line PLATFORM_ZONE "$zone"
  env_line DNS_PROVIDER powerdns
  env_line PDNS_API_URL "http://127.0.0.1:$PDNS_API_PORT"
  env_line PDNS_API_KEY "$PDNS_API_KEY"
  env_line PDNS_SERVER_ID localhost
  env_line DNS_RESOLVER "127.0.0.1:$PDNS_DNS_PORT"
  env_line ACME_DIRECTORY_URL "https://127.0.0.1:$PEBBLE_PORT/dir"
  # Trusts Pebble's API only. The root of issued certificates changes at every Pebble start:
  # fetch it from $PEBBLE_MANAGEMENT_URL/roots/0 when needed, never cache it.
  env_line ACME_CA_BUNDLE_FILE "$PEBBLE_CERT"
  env_line PEBBLE_MANAGEMENT_URL "https://127.0.0.1:$PEBBLE_MGMT_PORT"
  env_line ACME_EXTRA_ROOTS_URL "https://127.0.0.1:$PEBBLE_MGMT_PORT/roots/0"
  env_line ACME_CONTACT_EMAIL "admin@$zone"
  env_line DOCKER_SOCKET "$DOCKER_SOCKET"
  env_line NODE_PUBLIC_ADDRESS 127.0.0.1
  # ./parley up's worker publishes on the edge address instead, so its servers federate; tests
  # choose per harness (most connect to 127.0.0.1).
  env_line SANDBOX_EDGE_ADDRESS "$SANDBOX_EDGE_ADDRESS"
  env_line CONTAINER_DNS "$SANDBOX_EDGE_ADDRESS"
  env_line API_HOST 127.0.0.1
  env_line API_PORT 8080
  env_line SECRETS_KEYRING "$keyring"
  env_line PLATFORM_KEYRING "$platform_keyring"
  env_line BACKUP_REPOSITORY "$PARLEY_STATE_DIR/backups/restic"
  env_line BACKUP_PASSWORD "$backup_password"
  # Calls: the worker writes each server's TURN secret where coturn reads it (ensure_coturn).
  env_line TURN_SECRETS_DATABASE_URL "postgresql://parley_turn_writer:$TURN_WRITER_PASSWORD@127.0.0.1:$PG_PORT/$TURN_DATABASE"
  env_line TURN_PORT "$TURN_PORT"
  env_line TURN_RELAY_PORTS "$TURN_RELAY_PORTS"
  # TURN over TLS: the worker keeps coturn's certificate here and signals it to reload.
  env_line TURN_TLS_PORT "$TURN_TLS_PORT"
  env_line TURN_TLS_DIR "$TURN_TLS_DIR"
  env_line TURN_PID_FILE "$TURN_PID_FILE"
)
# Rewritten only when a value changed, so the file's mtime says when the environment last moved.
write_if_changed "$ENV_FILE" 600 <<<"$env_content" || true

log "env: $ENV_FILE ($(($(($(date +%s%N) - started)) / 1000000)) ms total)"
