#!/bin/sh
# Without a config file Redis's protected mode refuses every client but loopback; the official
# image builds Redis with it off, for its port is reached over the container's network. A
# --protected-mode given in the command comes later and still wins.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
