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
work=${PARLEY_IMAGE_WORKDIR:-/var/tmp/parley-image-build}
rootfs="$work/rootfs"

log() { printf 'build.sh: %s\n' "$*" >&2; }
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

# Every file here but docs; packages.txt is one of them.
inputs_hash() {
  (cd "$here" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-64
}

image_label() { dk image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }

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

# The base's recipe is part of its cache key, so changing how it is built rebuilds it.
build_base() {
  local tag=$1 key=$2 mirror suite uri
  mirror=$(mirror_for "$SUITE")
  case "$mirror" in
    http://*|https://*|file:/*) ;;
    *) die "no apt source for '$SUITE' in /etc/apt/sources.list{,.d/*.sources,.d/*.list} (got '$mirror')" ;;
  esac
  [ "$(id -u)" = 0 ] || die "the offline build needs root (debootstrap, chroot)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  log "debootstrap $SUITE from $mirror"
  remove_rootfs
  bounded 1200 debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
  # Updates and security fixes from the same machine's sources, when it has them.
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
  rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"*
  # Package scripts must not start services inside the chroot.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  log "installing: $(packages | tr '\n' ' ')"
  bounded 600 chroot "$rootfs" apt-get update
  # shellcheck disable=SC2046 # one word per package
  bounded 1200 chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends $(packages)
  chroot "$rootfs" apt-get clean
  # ssl-cert made a snakeoil key pair; no private key belongs in a shared layer.
  rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/usr/sbin/policy-rc.d" \
    "$rootfs/etc/ssl/private/ssl-cert-snakeoil.key" "$rootfs/etc/ssl/certs/ssl-cert-snakeoil.pem"
  # Docker provides these at run time; don't bake in the build machine's.
  : > "$rootfs/etc/resolv.conf"
  : > "$rootfs/etc/hostname"
  log "importing $tag"
  # shellcheck disable=SC2016 # $1..$3 belong to the inner sh
  bounded 600 sh -c 'tar -C "$1" -c . | docker import --change "LABEL parley.image=prosody-base" --change "LABEL parley.base-key=$2" - "$3"' \
    sh "$rootfs" "$key" "$tag"
  remove_rootfs
}

dk version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"

hash=$(inputs_hash)
tag="$repo:${hash:0:12}"

mkdir -p "$work"
# One build at a time per machine: two runs would race on the rootfs and the same tags.
exec 9>"$work/lock"
if ! flock -n 9; then
  log "waiting for another build.sh to finish ($work/lock)"
  flock -w 3600 9 || die "another build.sh still holds $work/lock after an hour"
fi

if [ "$(image_label "$tag" parley.inputs-hash)" = "$hash" ]; then
  log "prosody image up to date: $tag"
  printf '%s\n' "$tag"
  exit 0
fi

base=$REGISTRY_BASE
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
  base_key=$( { echo "suite=$SUITE"; packages | LC_ALL=C sort -u; declare -f build_base; } | sha256sum | cut -c1-64)
  base="$BASE_REPO:${base_key:0:12}"
  if [ "$(image_label "$base" parley.base-key)" = "$base_key" ]; then
    log "reusing base $base"
  else
    build_base "$base" "$base_key"
  fi
fi

log "building $tag from $base"
bounded 1800 docker build --build-arg "BASE=$base" \
  --label parley.image=prosody --label "parley.inputs-hash=$hash" -t "$tag" "$here"
printf '%s\n' "$tag"
