#!/usr/bin/env bash
# The PostgreSQL or Redis image for docker-compose.yml (POSTGRES_IMAGE, REDIS_IMAGE).
#
#   POSTGRES_IMAGE=$(infra/compose/build.sh postgres | tail -1)
#   REDIS_IMAGE=$(infra/compose/build.sh redis | tail -1)
#
# The official image (postgres:15-bookworm, redis:7-bookworm) when it is here or can be pulled;
# otherwise a stand-in from Debian's packages (./postgres, ./redis), built FROM infra/base's
# debian image and tagged by a hash of its inputs, skipped when that tag exists.
#
# stdout: exactly one line, the image reference. Progress goes to stderr.
# Env: PARLEY_IMAGE_OFFLINE=1 (no registry probe; also passed to infra/base/build.sh).
set -euo pipefail

kind=${1:-}
case "$kind" in
  postgres) official=postgres:15-bookworm ;;
  redis) official=redis:7-bookworm ;;
  *) echo "usage: infra/compose/build.sh postgres|redis" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
log() { printf 'compose/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

timeout 60 docker version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"

if [ "${PARLEY_IMAGE_OFFLINE:-0}" != 1 ]; then
  if timeout 60 docker image inspect "$official" >/dev/null 2>&1 || timeout 60 docker pull -q "$official" >&2; then
    printf '%s\n' "$official"
    exit 0
  fi
  log "no registry: building $kind from Debian packages"
fi

base=$(bash "$here/../base/build.sh" debian | tail -n 1)
[ -n "$base" ] || die "no base image"
hash=$( { echo "base=$base"; cd "$here/$kind" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-64)
tag="parley/compose-$kind:${hash:0:12}"

if [ "$(timeout 60 docker image inspect -f '{{ index .Config.Labels "parley.inputs-hash" }}' "$tag" 2>/dev/null)" = "$hash" ]; then
  log "$kind image up to date: $tag"
  printf '%s\n' "$tag"
  exit 0
fi

log "building $tag from $base"
# In the background under `timeout`, so a signal to this script stops the build at once.
timeout -k 10 900 docker build --build-arg "BASE=$base" --label "parley.image=compose-$kind" \
  --label "parley.inputs-hash=$hash" -t "$tag" "$here/$kind" >&2 &
build=$!
trap 'kill -TERM "$build" 2>/dev/null || true' EXIT
wait "$build" || die "docker build failed"
trap - EXIT
printf '%s\n' "$tag"
