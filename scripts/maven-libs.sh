#!/usr/bin/env bash
# Resolves the jars a pom under scripts/<name>/ depends on (Maven Central) into a cache and prints their directory:
#   kafka  the Kafka broker (test bed, demo)
#   kafka-3  a Kafka 3.9 broker (the integration suite that checks 3.x clusters)
#   flink  Beam's Flink runner with its job service (an embedded Flink cluster)
#   spark  Beam's Spark runner with its job service (Spark local[N])
#   kafka-tools  Kafka's ProducerPerformance (benches)
# The cache is keyed by the pom's content; a second call finds the marker file and downloads nothing.
set -euo pipefail
name=${1:?usage: maven-libs.sh kafka|kafka-3|flink|spark|kafka-tools}
here=$(cd "$(dirname "$0")" && pwd)
pom="$here/$name/pom.xml"
[ -f "$pom" ] || { echo "maven-libs: no $pom" >&2; exit 2; }
cache=${KBT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-beam-ts}
libs="$cache/$name-$(sha256sum "$pom" | cut -c1-12)/libs"
if [ ! -f "$libs/.complete" ]; then
  rm -rf "$libs" && mkdir -p "$libs"
  echo "maven-libs: resolving scripts/$name/pom.xml from Maven Central into $libs" >&2
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
fi
echo "$libs"
