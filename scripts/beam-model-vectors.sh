#!/usr/bin/env bash
# Fetches Beam's reference coder vectors (standard_coders.yaml) of the pinned Beam release into the cache,
# checks the pinned sha256 and prints the file's path. A second call finds the verified copy and fetches nothing.
#
# Sources, in order:
#   1. the Java model jar org.apache.beam:beam-model-fn-execution:<version> from Maven Central
#      (org/apache/beam/model/fnexecution/v1/standard_coders.yaml);
#   2. the Python SDK of the same release, which ships the same file as apache_beam/portability/api/
#      standard_coders.yaml: from the xlang venv if scripts/setup-xlang.sh built it, else the wheel from PyPI.
# (Maven Central's metadata for beam-model-fn-execution stopped at 2.73.0 when this was written, so 2.77.0 came
# from source 2; the sha256 pins the content either way.)
set -euo pipefail
beam_version=2.77.0
sha256=d06e8fbc5e8c46b7b6ba1c6130b43c5392bcc03e86d597b7c9f31f9a1af3e289
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
dir="$cache/beam-$beam_version/model"
out="$dir/standard_coders.yaml"
jar_entry=org/apache/beam/model/fnexecution/v1/standard_coders.yaml
wheel_entry=apache_beam/portability/api/standard_coders.yaml

verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha256" ]; }

if verified "$out"; then
  echo "$out"
  exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
candidate="$tmp/standard_coders.yaml"
source=""

extract_zip() { # zip entry destination
  python3 -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$@"
}

echo "beam-model-vectors: resolving org.apache.beam:beam-model-fn-execution:$beam_version from Maven Central" >&2
if (cd "$tmp" && mvn -q -B dependency:copy \
      "-Dartifact=org.apache.beam:beam-model-fn-execution:$beam_version:jar" "-DoutputDirectory=$tmp/jar" >/dev/null 2>&1); then
  extract_zip "$tmp/jar/beam-model-fn-execution-$beam_version.jar" "$jar_entry" "$candidate"
  source="Maven Central jar"
else
  echo "beam-model-vectors: not on Maven Central; using the Python SDK apache-beam==$beam_version" >&2
  venv_copy=$(ls "$cache/beam-$beam_version"/venv/lib/python*/site-packages/$wheel_entry 2>/dev/null | head -n 1 || true)
  if [ -n "$venv_copy" ] && verified "$venv_copy"; then
    cp "$venv_copy" "$candidate"
    source="xlang venv ($venv_copy)"
  else
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      "apache-beam==$beam_version" -d "$tmp/wheel" >&2
    wheel=$(ls "$tmp"/wheel/apache_beam-*.whl | head -n 1)
    extract_zip "$wheel" "$wheel_entry" "$candidate"
    source="PyPI wheel $(basename "$wheel")"
  fi
fi

if ! verified "$candidate"; then
  echo "beam-model-vectors: standard_coders.yaml from $source has sha256 $(sha256sum "$candidate" | cut -d' ' -f1)," \
    "expected $sha256 (pinned for Beam $beam_version)" >&2
  exit 1
fi
mv "$candidate" "$out"
echo "beam-model-vectors: $out (from $source)" >&2
echo "$out"
