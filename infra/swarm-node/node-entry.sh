#!/bin/sh
# PID 2 of a Swarm test node (the node container runs with --init): the inner Docker engine.
set -eu
# Tasks go into a cgroup under the node's own, so the node's stats count them.
memory_cgroup=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
# Without this, every task start asks a registry for the image first (there is none).
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
mkdir -p /swarm
# /swarm is a host folder: the second socket lets the host drive this node's engine directly.
# overlay2 named so a wrong /var/lib/docker fails here instead of falling back to vfs;
# 127.0.0.1 as DNS: nothing outside resolves, and containers must not try.
exec dockerd \
  --host unix:///var/run/docker.sock \
  --host unix:///swarm/docker.sock \
  --storage-driver overlay2 \
  --cgroup-parent "${memory_cgroup%/}/inner" \
  --dns 127.0.0.1 \
  "$@"
