#!/usr/bin/env bash
# Builds the Parley Prosody image, tagged by a hash of its inputs; skips when that tag exists.
#
#   infra/image/build.sh [--offline] [--repo REPO]
#   TAG=$(infra/image/build.sh | tail -1)
#
# stdout: exactly one line, the image tag (REPO:<12 hex>). Progress goes to stderr.
# Exit status: 0 when the tag exists afterwards, non-zero otherwise.
# Env: PARLEY_IMAGE_REPO (default parley/prosody; --repo wins), PARLEY_IMAGE_OFFLINE=1 (same as
# --offline: skip the registry probe and build from a debootstrap base), PARLEY_IMAGE_WORKDIR
# (scratch space and lock, default /var/tmp/parley-image-build).
set -euo pipefail

readonly SUITE=bookworm
readonly REGISTRY_BASE="debian:${SUITE}-slim"
readonly BASE_REPO=parley/debian-prosody-base

repo=${PARLEY_IMAGE_REPO:-parley/prosody}
offline=${PARLEY_IMAGE_OFFLINE:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) offline=1; shift ;;
    --repo) [ $# -ge 2 ] || { echo "build.sh: --repo needs a value" >&2; exit 2; }; repo=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=infra/lib/image-build.sh
. "$here/../lib/image-build.sh"

# The base's recipe is part of its cache key, so changing how it is built rebuilds it.
build_base() {
  local tag=$1 key=$2
  debootstrap_rootfs "$SUITE"
  log "installing: $(packages "$here/packages.txt" | tr '\n' ' ')"
  bounded 600 chroot "$rootfs" apt-get update
  # shellcheck disable=SC2046 # one word per package
  bounded 1200 chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends $(packages "$here/packages.txt")
  chroot "$rootfs" apt-get clean
  # ssl-cert made a snakeoil key pair; no private key belongs in a shared layer.
  rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/usr/sbin/policy-rc.d" \
    "$rootfs/etc/ssl/private/ssl-cert-snakeoil.key" "$rootfs/etc/ssl/certs/ssl-cert-snakeoil.pem"
  import_rootfs "$tag" --change "LABEL parley.image=prosody-base" --change "LABEL parley.base-key=$key"
}

build_image() {
  local tag=$1 hash=$2 base=$REGISTRY_BASE base_key
  if [ "$offline" = 1 ]; then
    log "offline build forced"
    base=""
  elif dk image inspect "$REGISTRY_BASE" >/dev/null 2>&1; then
    log "using local $REGISTRY_BASE"
  elif bounded 30 docker pull -q "$REGISTRY_BASE"; then
    log "pulled $REGISTRY_BASE"
  else
    log "no registry: building the base from Debian packages"
    base=""
  fi
  if [ -z "$base" ]; then
    base_key=$( { echo "suite=$SUITE"; packages "$here/packages.txt" | LC_ALL=C sort -u; declare -f build_base; } | inputs_hash)
    base="$BASE_REPO:${base_key:0:12}"
    if [ "$(image_label "$base" parley.base-key)" = "$base_key" ]; then
      log "reusing base $base"
    else
      build_base "$base" "$base_key"
    fi
  fi
  docker_build 1800 prosody "$tag" "$hash" "$base" "$here"
}

build_start build.sh
# Every file here but docs, packages.txt among them; inputs_hash adds the library.
hash=$(dir_sums "$here" | inputs_hash)
build_lock "${PARLEY_IMAGE_WORKDIR:-/var/tmp/parley-image-build}"
tagged_image prosody "$repo" "$hash" build_image
