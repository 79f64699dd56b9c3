#!/usr/bin/env bash
# Builds the dashboard into web/dist (vite build), which the API serves at /. Skips the work when
# none of its inputs changed since the last successful build (sources, config, locked packages),
# so repeated `./parley up` and `./parley test` stay fast. Needs no environment.
set -euo pipefail
cd "$(dirname "$0")/.."

out=web/dist
stamp=$out/.inputs-hash
hash=$( (find web/src web/index.html web/vite.config.ts web/tsconfig.json worker/src/contracts/provisioning.ts -type f -print0 |
  sort -z | xargs -0 cat; cat package-lock.json) | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$out/index.html" ]; then
  echo "dashboard: build up to date"
  exit 0
fi

node_modules/.bin/vite build web --logLevel warn
echo "$hash" >"$stamp"
echo "dashboard: built into $out"
