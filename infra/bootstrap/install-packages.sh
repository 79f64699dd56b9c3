#!/usr/bin/env bash
# Installs the Debian packages the Parley sandbox needs, and only those that are missing.
# Idempotent: when everything is present it runs no apt command at all (about 50 ms).
set -euo pipefail

# What each package is for:
#   postgresql, redis-server      control-plane state and the BullMQ queues
#   docker.io                     the container runtime (dockerd + CLI)
#   pdns-server, -backend-sqlite3 authoritative DNS for the platform zone
#   sqlite3                       to create PowerDNS's database from its schema file
#   pebble                        local ACME CA (Let's Encrypt's test server)
#   debootstrap                   builds the XMPP base image and the Swarm test nodes' image
#                                 (infra/swarm-node) without a container registry
#   openssl, ca-certificates      secrets and Pebble's API certificate
#   iproute2, procps, curl        ss/ip, pgrep/ps, HTTP readiness checks
#   restic                        encrypted, deduplicated backups (the platform database)
#   coturn                        STUN/TURN for customers' calls (and turnutils_* for its tests)
#   prometheus                    metrics and alert rules (and promtool for their tests); services.sh
#                                 runs its own. Its Recommends, prometheus-node-exporter, is not installed
PACKAGES=(
  postgresql redis-server docker.io pdns-server pdns-backend-sqlite3 sqlite3 pebble
  debootstrap openssl ca-certificates iproute2 curl procps
  restic
  coturn
  prometheus
  # validates docker-compose.yml in the tests (no Compose plugin ships with docker.io)
  docker-compose
  # the dashboard's end-to-end test drives it with playwright-core (never a downloaded browser)
  chromium
)

log() { printf '[parley] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "packages: all ${#PACKAGES[@]} present"
  exit 0
fi

log "packages: installing ${missing[*]}"

# Without systemd, package scripts start daemons through invoke-rc.d and /etc/init.d: Debian's
# redis-server and dockerd would come up with Debian's config and then be "reused" by services.sh
# instead of ours. A policy-rc.d answering 101 ("action forbidden") stops that; we start every
# service ourselves. An existing policy-rc.d (a Docker image's, an admin's) is left alone.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  as_root sh -c "printf '#!/bin/sh\n# added by parley install-packages.sh for the duration of apt-get\nexit 101\n' >$policy && chmod 755 $policy"
  added_policy=1
fi
cleanup() {
  if [ "$added_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
}
trap cleanup EXIT

apt_log=$(mktemp /tmp/parley-apt.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update >"$apt_log" 2>&1 ||
   ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
       "${missing[@]}" >>"$apt_log" 2>&1; then
  log "packages: apt-get failed, see $apt_log"
  tail -n 20 "$apt_log" >&2
  exit 1
fi

for pkg in "${missing[@]}"; do
  is_installed "$pkg" || { log "packages: $pkg still not installed, see $apt_log"; exit 1; }
done
rm -f "$apt_log"
log "packages: installed ${#missing[@]}"
