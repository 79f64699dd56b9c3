#!/usr/bin/env bash
# Generates the Prisma client into prisma/generated/client, offline. Skips the work when neither
# the schema nor the installed Prisma changed since the last successful run, so repeated
# bootstraps stay fast. Needs no database and no environment.
set -euo pipefail
cd "$(dirname "$0")/.."

out=prisma/generated/client
stamp=prisma/generated/.schema-hash
hash=$(cat prisma/schema.prisma prisma.config.ts node_modules/prisma/package.json node_modules/@prisma/client/package.json |
  sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$out/client.ts" ]; then
  echo "prisma generate: client up to date"
  exit 0
fi

rm -f "$stamp"
# `generate` resolves the native schema engine (downloading it when missing) but never runs it;
# pointing it at any existing file keeps it off the network. A real binary, if set, is kept.
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$PWD/prisma/generate.sh}"
# No update check or telemetry ping: there may be no route to Prisma's servers.
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
node_modules/.bin/prisma generate
echo "$hash" >"$stamp"
