#!/usr/bin/env bash
# Builds the Prism runner with `go install` from the Go module proxy at the pinned Beam version, into the cache,
# once, and prints the binary's path (scripts/setup-xlang.sh and `demo --runner prism` use it).
set -euo pipefail
beam_version=${KBT_BEAM_VERSION:-2.77.0}
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
gobin="$cache/beam-$beam_version/bin"
if [ ! -x "$gobin/prism" ]; then
  echo "prism.sh: building prism@v$beam_version with go install (about 2 minutes the first time)" >&2
  mkdir -p "$gobin"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install "github.com/apache/beam/sdks/v2/go/cmd/prism@v$beam_version" >&2
fi
echo "$gobin/prism"
