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

repo=${PARLEY_SWARM_NODE_REPO:-parley/swarm-node}
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) [ $# -ge 2 ] || { echo "build.sh: --repo needs a value" >&2; exit 2; }; repo=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
work=${PARLEY_SWARM_NODE_WORKDIR:-/var/tmp/parley-swarm-node-build}
rootfs="$work/rootfs"

log() { printf 'swarm-node/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Long steps run in the background under `timeout` so a signal to this script is handled at
# once (bash defers traps while a foreground child runs) and stops the step's whole group.
child=""
bounded() {
  local secs=$1 rc=0
  shift
  timeout -k 10 "$secs" "$@" >&2 &
  child=$!
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
# Short docker calls (inspect, version) must not hang on a stuck engine either.
dk() { timeout 60 docker "$@"; }

# A run killed half-way can leave the rootfs, and the /proc or /sys debootstrap mounted in it.
remove_rootfs() {
  [ -e "$rootfs" ] || return 0
  local m
  awk -v r="$rootfs" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$rootfs"
}

cleanup() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ "$(id -u)" = 0 ]; then remove_rootfs; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

packages() { sed 's/#.*//' "$here/packages.txt" | tr -s ' \t' '\n' | sed '/^$/d'; }

# Every file here but docs; packages.txt and node-entry.sh are among them.
inputs_hash() {
  (cd "$here" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-64
}

image_label() { dk image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }

# The two functions below are infra/image/build.sh's, copied rather than shared: a shared file
# would be an input of neither image's hash, and moving them would change the Prosody image's.
# "URI SUITE" for every enabled binary source of this machine's apt configuration.
apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
        }
        types = uris = suites = enabled = key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { if (key == "uris") uris = uris " " $0; else if (key == "suites") suites = suites " " $0; next }
      {
        i = index($0, ":"); if (i == 0) next
        key = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1)
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") { enabled = tolower(val); gsub(/[ \t]/, "", enabled) }
      }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { sub(/^[ \t]*deb[ \t]+/, ""); sub(/^\[[^]]*\][ \t]*/, ""); split($0, a, " "); print a[1], a[2] }' "$f"
  done
}

# First URI serving SUITE; a mirror+file: URI (Debian cloud images) names a file of mirrors.
mirror_for() {
  local uri
  uri=$(apt_sources | awk -v s="$1" '$2 == s { print $1; exit }')
  case "$uri" in
    mirror+file:*) uri=$(sed -n 's/^[ \t]*\([a-z]*:\/\/[^ \t]*\).*/\1/p' "${uri#mirror+file:}" | head -1) ;;
  esac
  printf '%s' "$uri"
}

build_image() {
  local tag=$1 hash=$2 mirror
  mirror=$(mirror_for "$SUITE")
  case "$mirror" in
    http://*|https://*|file:/*) ;;
    *) die "no apt source for '$SUITE' in /etc/apt/sources.list{,.d/*.sources,.d/*.list} (got '$mirror')" ;;
  esac
  [ "$(id -u)" = 0 ] || die "the build needs root (debootstrap)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  log "debootstrap $SUITE from $mirror with $(packages | tr '\n' ' ')"
  remove_rootfs
  bounded 1200 debootstrap --variant=minbase --include="$(packages | paste -sd, -)" "$SUITE" "$rootfs" "$mirror"
  # Downloaded packages, lists, docs and translations: nothing a node needs at run time.
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* \
    "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  # Docker provides these at run time; don't bake in the build machine's.
  : > "$rootfs/etc/resolv.conf"
  : > "$rootfs/etc/hostname"
  install -m 755 "$here/node-entry.sh" "$rootfs/usr/local/sbin/parley-swarm-node"
  log "importing $tag"
  # shellcheck disable=SC2016 # $1..$3 belong to the inner sh
  bounded 600 sh -c 'tar -C "$1" -c . | docker import \
      --change "LABEL parley.image=swarm-node" --change "LABEL parley.inputs-hash=$2" \
      --change "CMD [\"/usr/local/sbin/parley-swarm-node\"]" - "$3"' sh "$rootfs" "$hash" "$tag"
  remove_rootfs
}

dk version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"

hash=$(inputs_hash)
tag="$repo:${hash:0:12}"

mkdir -p "$work"
# One build at a time per machine: two runs would race on the rootfs and the same tag.
exec 9>"$work/lock"
if ! flock -n 9; then
  log "waiting for another build.sh to finish ($work/lock)"
  flock -w 3600 9 || die "another build.sh still holds $work/lock after an hour"
fi

if [ "$(image_label "$tag" parley.inputs-hash)" = "$hash" ]; then
  log "swarm node image up to date: $tag"
else
  build_image "$tag" "$hash"
fi
printf '%s\n' "$tag"
