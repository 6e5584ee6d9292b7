#!/usr/bin/env bash
# The woq serve load test: the server on a loopback port, driven by 1, 2, 4 and 8 concurrent
# streaming chat clients. Prints aggregate decode tokens/s, end-to-end tokens/s, time to first
# token percentiles, errors and RSS per phase; writes the JSON report to OUT.
# Usage: benchmarks/run-serve-load.sh MODEL_DIR OUT.json [--clients 1,2,4,8] [--requests 1]
#        [--max-tokens 32] [--threads 2]
# MODEL_DIR: a bf16 checkpoint or a registry entry (woq registry show NAME prints its path).
# Needs: mvn -B -q -DskipTests install (or package); a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 2 || "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [[ $# -ge 2 ]] && exit 0 || exit 2
fi
jar="$here/benchmarks/target/woq-benchmarks.jar"
if [[ ! -f "$jar" ]]; then
  echo "run-serve-load: $jar is missing: build first with mvn -B -q -DskipTests package" >&2
  exit 1
fi
model="$1"; out="$2"; shift 2
# The heap is committed and touched up front (-Xms = -Xmx, AlwaysPreTouch), so the RSS changes the
# report shows are native memory: KV caches, libtorch, Jetty, not the heap filling in.
exec java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -cp "$jar:$here/benchmarks/target/lib/*" \
  dev.woq.bench.ServeLoad "$model" --out "$out" "$@"
