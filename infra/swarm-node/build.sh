#!/usr/bin/env bash
# Builds the Docker-in-Docker node image of the multi-node Swarm the tests make on one machine
# (tests/support/swarm-cluster.ts), from Debian packages alone: no registry is needed. Tagged by a
# hash of its inputs; skips when that tag exists.
#
#   infra/swarm-node/build.sh [--repo REPO]
#   TAG=$(infra/swarm-node/build.sh | tail -1)
#
# stdout: exactly one line, the image tag (REPO:<12 hex>). Progress goes to stderr.
# Exit status: 0 when the tag exists afterwards, non-zero otherwise.
# Env: PARLEY_SWARM_NODE_REPO (default parley/swarm-node; --repo wins), PARLEY_SWARM_NODE_WORKDIR
# (scratch space and lock, default /var/tmp/parley-swarm-node-build). Needs root and debootstrap.
set -euo pipefail

readonly SUITE=bookworm

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=infra/lib/image-build.sh
. "$here/../lib/image-build.sh"
repo_option "${PARLEY_SWARM_NODE_REPO:-parley/swarm-node}" "$@"

build_image() {
  local tag=$1 hash=$2
  debootstrap_rootfs "$SUITE" --include="$(packages "$here/packages.txt" | paste -sd, -)"
  install -m 755 "$here/node-entry.sh" "$rootfs/usr/local/sbin/parley-swarm-node"
  import_rootfs "$tag" --change "LABEL parley.image=swarm-node" --change "LABEL parley.inputs-hash=$hash" \
    --change 'CMD ["/usr/local/sbin/parley-swarm-node"]'
}

build_start swarm-node/build.sh
# Every file here but docs, packages.txt and node-entry.sh among them; inputs_hash adds the library.
hash=$(dir_sums "$here" | inputs_hash)
build_lock "${PARLEY_SWARM_NODE_WORKDIR:-/var/tmp/parley-swarm-node-build}"
tagged_image "swarm node" "$repo" "$hash" build_image
