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

# shellcheck source=infra/lib/image-build.sh
. "$root/infra/lib/image-build.sh"

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

build_image() {
  local tag=$1 hash=$2 started=$SECONDS cafile
  scratch=$(mktemp -d /var/tmp/parley-platform-context.XXXXXX)
  context_files | tar --null -T - -cf - | tar -xf - -C "$scratch"
  cafile=$(npm_cafile)
  if [ -n "$cafile" ]; then cp "$cafile" "$scratch/npm-ca.pem"; fi
  docker_build 1800 platform "$tag" "$hash" "$base" --build-arg "NPM_REGISTRY=$registry" \
    -f infra/platform/Dockerfile "$scratch"
  log "built $tag in $((SECONDS - started)) s"
}

build_start platform/build.sh
base=$(bash infra/base/build.sh node | tail -n 1)
[ -n "$base" ] || die "no base image"
registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
hash=$( { echo "base=$base"; cat infra/platform/Dockerfile; context_files | xargs -0 sha256sum; } | inputs_hash)
tagged_image platform "$repo" "$hash" build_image
