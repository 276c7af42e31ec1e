#!/usr/bin/env bash
# Prepares the cross-language toolchain, cached between runs:
#   - a Python virtualenv with the pinned apache-beam from PyPI (with its [yaml] extra, for Beam YAML)
#   - the Prism runner, built with `go install` from the Go module proxy at the same Beam version
#   - the Go example pipeline (examples/go/kafka_roundtrip, Beam Go SDK at that version), rebuilt when it changes
# Prints `python=<path>`, `prism=<path>` and `go_example=<path>`.
set -euo pipefail
beam_version=${KBT_BEAM_VERSION:-2.77.0}
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
venv="$cache/beam-$beam_version/venv"
gobin="$cache/beam-$beam_version/bin"
python=${KBT_PYTHON:-python3}

if [ ! -f "$venv/.complete" ]; then
  echo "setup-xlang: creating $venv with apache-beam==$beam_version" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "apache-beam==$beam_version" >&2
  touch "$venv/.complete"
fi
# Beam YAML's own dependencies (the [yaml] extra), added to venvs made before it was needed.
if [ ! -f "$venv/.complete-yaml" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check "apache-beam[yaml]==$beam_version" >&2
  touch "$venv/.complete-yaml"
fi

prism=$(bash "$(dirname "$0")/prism.sh")

# The Go example pins the Beam Go SDK in its own go.mod/go.sum; its binary is cached per source checksum.
example_dir="$(cd "$(dirname "$0")/.." && pwd)/examples/go/kafka_roundtrip"
example_sum=$(cat "$example_dir"/go.mod "$example_dir"/go.sum "$example_dir"/*.go | sha256sum | cut -c1-16)
example="$gobin/kafka_roundtrip-$example_sum"
if [ ! -x "$example" ]; then
  echo "setup-xlang: building the Go example pipeline" >&2
  (cd "$example_dir" && go build -o "$example.tmp" .) >&2
  mv "$example.tmp" "$example"
fi

echo "python=$venv/bin/python"
echo "prism=$prism"
echo "go_example=$example"
