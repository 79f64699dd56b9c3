#!/usr/bin/env bash
# Builds the Parley platform image (API, worker, migrations and the built dashboard) from
# infra/platform/Dockerfile, tagged by a hash of its inputs; skips when that tag exists.
#
#   IMAGE=$(infra/platform/build.sh | tail -1)
#
# BASE is node:20-bookworm-slim where a registry is reachable, otherwise a local stand-in built
# without one (infra/base/build.sh). The image's own build stage installs the npm dependencies,
# generates the Prisma client and builds the dashboard, so nothing from this checkout's
# node_modules, prisma/generated or web/dist goes in. It builds from a copy of exactly the files
# it needs, with this machine's npm registry and CA bundle, so it works wherever npm does here.
#
# stdout: exactly one line, the image tag (REPO:<12 hex>). Progress goes to stderr.
# Env: PARLEY_PLATFORM_REPO (default parley/platform), PARLEY_IMAGE_OFFLINE=1 (no registry probe).
set -euo pipefail

repo=${PARLEY_PLATFORM_REPO:-parley/platform}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

log() { printf 'platform/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Everything the Dockerfile copies (generated output is rebuilt in its build stage), NUL-separated.
context_files() {
  find package.json package-lock.json tsconfig.json prisma.config.ts prisma worker api web -type f \
    ! -path 'prisma/generated/*' ! -path 'web/dist/*' -print0 | LC_ALL=C sort -z
}

# The CA bundle this machine's npm trusts, when it names one (a registry mirror or a proxy with
# its own CA): the build stage's npm needs it too. It stays in that stage.
npm_cafile() {
  local f
  f=$(npm config get cafile 2>/dev/null || true)
  if [ -n "$f" ] && [ "$f" != null ] && [ "$f" != undefined ] && [ -r "$f" ]; then printf '%s' "$f"; fi
}

timeout 60 docker version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"

base=$(bash infra/base/build.sh node | tail -n 1)
[ -n "$base" ] || die "no base image"
registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
hash=$( { echo "base=$base"; cat infra/platform/Dockerfile; context_files | xargs -0 sha256sum; } | sha256sum | cut -c1-64)
tag="$repo:${hash:0:12}"

if [ "$(timeout 60 docker image inspect -f '{{ index .Config.Labels "parley.inputs-hash" }}' "$tag" 2>/dev/null)" = "$hash" ]; then
  log "platform image up to date: $tag"
  printf '%s\n' "$tag"
  exit 0
fi

log "building $tag from $base"
started=$SECONDS
context=$(mktemp -d /var/tmp/parley-platform-context.XXXXXX)
build=""
stop() {
  if [ -n "$build" ]; then kill -TERM "$build" 2>/dev/null || true; wait "$build" 2>/dev/null || true; fi
  rm -rf "$context"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
context_files | tar --null -T - -cf - | tar -xf - -C "$context"
cafile=$(npm_cafile)
if [ -n "$cafile" ]; then cp "$cafile" "$context/npm-ca.pem"; fi
# In the background under `timeout`, so a signal to this script stops the build at once.
timeout -k 10 1800 docker build --build-arg "BASE=$base" --build-arg "NPM_REGISTRY=$registry" \
  -f infra/platform/Dockerfile --label parley.image=platform --label "parley.inputs-hash=$hash" \
  -t "$tag" "$context" >&2 &
build=$!
wait "$build" || { build=""; die "docker build failed"; }
build=""
log "built $tag in $((SECONDS - started)) s"
printf '%s\n' "$tag"
