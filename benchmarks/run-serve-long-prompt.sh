#!/usr/bin/env bash
# A long prompt arriving at a busy woq serve (ServeLongPrompt): CLIENTS streams decode, a request of
# about LONG_TOKENS prompt tokens arrives, and their inter-token latency p50/p99 is reported before,
# during its prefill and after; then a second request with the same system prompt shows the
# tokens the prefix cache reused. Writes the JSON report to OUT.
# Usage: benchmarks/run-serve-long-prompt.sh MODEL_DIR OUT.json [--clients 4] [--long-tokens 2000]
#        [--prefill-chunk 512] [--settle 10] [--answer-tokens 8] [--threads 2]
# MODEL_DIR: a bf16 checkpoint or a registry entry (woq registry show NAME prints its path).
# Needs: mvn -B -q -DskipTests package -pl benchmarks -am; a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 2 || "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [[ $# -ge 2 ]] && exit 0 || exit 2
fi
jar="$here/benchmarks/target/woq-benchmarks.jar"
if [[ ! -f "$jar" ]]; then
  echo "run-serve-long-prompt: $jar is missing: build first with mvn -B -q -DskipTests package -pl benchmarks -am" >&2
  exit 1
fi
model="$1"; out="$2"; shift 2
exec java -Xmx1g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$jar:$here/benchmarks/target/lib/*" \
  dev.woq.bench.ServeLongPrompt "$model" --out "$out" "$@"
