# shellcheck shell=bash
# Functions shared by Parley's image builds (infra/*/build.sh); sourcing it only defines them.
# A build calls build_start first; one that debootstraps calls build_lock. Globals: log_name
# (build_start), work and rootfs (build_lock), child (bounded), and scratch, a temporary folder a
# caller may set, removed on exit. Every image's cache key includes this file (inputs_hash).

# stdout carries only the result (the image reference); everything else goes to stderr.
log() { printf '%s: %s\n' "$log_name" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Long steps run in the background under `timeout` so a signal to the script is handled at
# once (bash defers traps while a foreground child runs) and stops the step's whole group.
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

image_label() { dk image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }

# A run killed half-way can leave the rootfs, and the /proc or /sys debootstrap mounted in it.
remove_rootfs() {
  [ -e "$rootfs" ] || return 0
  local m
  awk -v r="$rootfs" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$rootfs"
}

cleanup() {
  if [ -n "${child:-}" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ -n "${rootfs:-}" ] && [ "$(id -u)" = 0 ]; then remove_rootfs; fi
  if [ -n "${scratch:-}" ]; then rm -rf "$scratch"; fi
}

# NAME prefixes the log lines.
build_start() {
  log_name=$1
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  dk version -f '{{.Server.Version}}' >/dev/null || die "the Docker engine is not reachable"
}

# One build at a time per DIR: two runs would race on its rootfs and the same tags. rootfs is
# set only once the lock is held, so a run that stops while waiting leaves the other's alone.
build_lock() {
  work=$1
  mkdir -p "$work"
  exec 9>"$work/lock"
  if ! flock -n 9; then
    log "waiting for another build to finish ($work/lock)"
    flock -w 3600 9 || die "another build still holds $work/lock after an hour"
  fi
  rootfs="$work/rootfs"
}

# The package names in FILE: whitespace-separated, # starts a comment.
packages() { sed 's/#.*//' "$1" | tr -s ' \t' '\n' | sed '/^$/d'; }

# "SUM  ./PATH" for every file under DIR but docs, in a fixed order.
dir_sums() { (cd "$1" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }

# The cache key of the inputs on stdin together with this file, which shapes every build.
inputs_hash() { { cat; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-64; }

# Prints REPO:<12 hex of HASH>, first running BUILD... TAG HASH unless that image exists with
# HASH as its parley.inputs-hash label. WHAT names the image in the log.
tagged_image() {
  local what=$1 tag="$2:${3:0:12}" hash=$3
  shift 3
  if [ "$(image_label "$tag" parley.inputs-hash)" = "$hash" ]; then
    log "$what image up to date: $tag"
  else
    "$@" "$tag" "$hash"
  fi
  printf '%s\n' "$tag"
}

# docker build FROM BASE under SECS, labelled parley.image=NAME and with the hash tagged_image checks.
docker_build() {
  local secs=$1 name=$2 tag=$3 hash=$4 base=$5
  shift 5
  log "building $tag from $base"
  bounded "$secs" docker build --build-arg "BASE=$base" --label "parley.image=$name" \
    --label "parley.inputs-hash=$hash" -t "$tag" "$@" || die "docker build failed"
}

# IMAGE when it is here or can be pulled, unless PARLEY_IMAGE_OFFLINE=1; empty otherwise.
official() {
  if [ "${PARLEY_IMAGE_OFFLINE:-0}" = 1 ]; then return 0; fi
  if dk image inspect "$1" >/dev/null 2>&1; then printf '%s' "$1"; return 0; fi
  if bounded 60 docker pull -q "$1"; then printf '%s' "$1"; fi
}

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

# A debootstrap minbase of SUITE in $rootfs (ARGS: more debootstrap options) from this machine's
# mirror, which stays in its sources (with updates and security fixes) so apt-get works in it.
debootstrap_rootfs() {
  local suite=$1 mirror s uri
  shift
  mirror=$(mirror_for "$suite")
  case "$mirror" in
    http://*|https://*|file:/*) ;;
    *) die "no apt source for '$suite' in /etc/apt/sources.list{,.d/*.sources,.d/*.list} (got '$mirror')" ;;
  esac
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  log "debootstrap $suite from $mirror${*:+ $*}"
  remove_rootfs
  bounded 1200 debootstrap --variant=minbase "$@" "$suite" "$rootfs" "$mirror"
  : > "$rootfs/etc/apt/sources.list"
  for s in "$suite" "$suite-updates" "$suite-security"; do
    uri=$(mirror_for "$s")
    if [ -n "$uri" ]; then printf 'deb %s %s main\n' "$uri" "$s" >> "$rootfs/etc/apt/sources.list"; fi
  done
  # Like debian:*-slim: no docs, man pages or translations, now or from later installs.
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
  # Package scripts must not start services in a chroot or an image build (as in Docker's
  # Debian images).
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
}

# Imports $rootfs as TAG (ARGS: docker import options, such as --change), then removes it.
import_rootfs() {
  local tag=$1
  shift
  # Docker provides these at run time; don't bake in the build machine's.
  : > "$rootfs/etc/resolv.conf"
  : > "$rootfs/etc/hostname"
  log "importing $tag"
  # shellcheck disable=SC2016 # $1, $2 and $@ belong to the inner sh
  bounded 600 sh -c 'root=$1 tag=$2; shift 2; tar -C "$root" -c . | docker import "$@" - "$tag"' \
    sh "$rootfs" "$tag" "$@"
  remove_rootfs
}

# The options of a build script that takes only --repo (and -h): sets `repo`, starting from $1;
# the help is the calling script's header comment.
repo_option() {
  repo=$1; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --repo) [ $# -ge 2 ] || { echo "build.sh: --repo needs a value" >&2; exit 2; }; repo=$2; shift 2 ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
      *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
  done
}
