#!/usr/bin/env bash
# Builds the node agent image: what the worker runs on a Swarm node, through that node's engine,
# to install the tenant firewall in the node's own iptables (a one-shot container on the host
# network with NET_ADMIN). From Debian packages alone: no registry is needed. Tagged by a hash of
# its inputs; skips when that tag exists.
#
#   infra/node-agent/build.sh [--repo REPO]
#   TAG=$(infra/node-agent/build.sh | tail -1)
#
# stdout: exactly one line, the image tag (REPO:<12 hex>). Progress goes to stderr.
# Exit status: 0 when the tag exists afterwards, non-zero otherwise.
# Env: PARLEY_NODE_AGENT_REPO (default parley/node-agent; --repo wins), PARLEY_NODE_AGENT_WORKDIR
# (scratch space and lock, default /var/tmp/parley-node-agent-build). Needs root and debootstrap.
set -euo pipefail

readonly SUITE=bookworm

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=infra/lib/image-build.sh
. "$here/../lib/image-build.sh"
repo_option "${PARLEY_NODE_AGENT_REPO:-parley/node-agent}" "$@"

build_image() {
  local tag=$1 hash=$2
  debootstrap_rootfs "$SUITE" --include="$(packages "$here/packages.txt" | paste -sd, -)"
  import_rootfs "$tag" --change "LABEL parley.image=node-agent" --change "LABEL parley.inputs-hash=$hash" --change 'CMD ["/bin/sh"]'
}

build_start node-agent/build.sh
# Every file here but docs; inputs_hash adds the library.
hash=$(dir_sums "$here" | inputs_hash)
build_lock "${PARLEY_NODE_AGENT_WORKDIR:-/var/tmp/parley-node-agent-build}"
tagged_image "node agent" "$repo" "$hash" build_image
