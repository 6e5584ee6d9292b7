#!/usr/bin/env bash
# JMH benchmarks of woq's kernels at Llama-3-8B shapes: bf16/int8/int4 linear at 1 and 128 tokens
# (LinearBenchmark) and one layer's attention at 128..8192 cached positions (AttentionBenchmark).
# Writes benchmarks/results/jmh-kernels.json (or JMH_OUT, so that a subset does not replace the full
# table) and prints a markdown table with weight GB/s.
# Usage: [JMH_OUT=FILE.json] benchmarks/run-jmh.sh [JMH options, e.g. a regex: 'Linear.*' -p format=int4 -p tokens=1]
# Needs: mvn -B -q -DskipTests install (or package); ~6 GB free RAM; a quiet machine. Takes ~10 min.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
jar="$here/benchmarks/target/woq-benchmarks.jar"
if [[ ! -f "$jar" ]]; then
  echo "run-jmh: $jar is missing: build first with mvn -B -q -DskipTests package" >&2
  exit 1
fi
out="${JMH_OUT:-$here/benchmarks/results/jmh-kernels.json}"
mkdir -p "$(dirname "$out")"
cp="$jar:$here/benchmarks/target/lib/*"
# One fork, short iterations: each kernel call is 0.05-500 ms, so 2 s iterations hold many calls.
# The forked JVM inherits these JVM options (offline engine, no telemetry, room for the LM head).
java -Xmx6g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$cp" org.openjdk.jmh.Main \
  -f 1 -wi 2 -w 2s -i 3 -r 2s -rf json -rff "$out.tmp" "$@"
mv "$out.tmp" "$out"
java -cp "$cp" dev.woq.bench.JmhTable "$out"
