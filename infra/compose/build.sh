#!/usr/bin/env bash
# The PostgreSQL or Redis image for docker-compose.yml (POSTGRES_IMAGE, REDIS_IMAGE).
#
#   POSTGRES_IMAGE=$(infra/compose/build.sh postgres | tail -1)
#   REDIS_IMAGE=$(infra/compose/build.sh redis | tail -1)
#
# The official image (postgres:15-bookworm, redis:7-bookworm) when it is here or can be pulled;
# otherwise a stand-in from Debian's packages (./postgres, ./redis), built FROM infra/base's
# debian image and tagged by a hash of its inputs, skipped when that tag exists.
#
# stdout: exactly one line, the image reference. Progress goes to stderr.
# Env: PARLEY_IMAGE_OFFLINE=1 (no registry probe; also passed to infra/base/build.sh).
set -euo pipefail

kind=${1:-}
case "$kind" in
  postgres) upstream=postgres:15-bookworm ;;
  redis) upstream=redis:7-bookworm ;;
  *) echo "usage: infra/compose/build.sh postgres|redis" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=infra/lib/image-build.sh
. "$here/../lib/image-build.sh"

build_image() { docker_build 900 "compose-$kind" "$1" "$2" "$base" "$here/$kind"; }

build_start compose/build.sh
image=$(official "$upstream")
if [ -n "$image" ]; then printf '%s\n' "$image"; exit 0; fi

base=$(bash "$here/../base/build.sh" debian | tail -n 1)
[ -n "$base" ] || die "no base image"
hash=$( { echo "base=$base"; dir_sums "$here/$kind"; } | inputs_hash)
tagged_image "$kind" "parley/compose-$kind" "$hash" build_image
