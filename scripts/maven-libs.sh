#!/usr/bin/env bash
# Resolves the Kafka broker jars from Maven Central into a cache and prints the directory that holds them.
# A second call finds the marker file and downloads nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
libs="$cache/kafka-$version/libs"
if [ ! -f "$libs/.complete" ]; then
  mkdir -p "$libs"
  echo "kafka-jars: resolving org.apache.kafka:kafka_2.13:$version from Maven Central into $libs" >&2
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
fi
echo "$libs"
