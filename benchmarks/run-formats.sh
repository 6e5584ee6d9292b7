#!/usr/bin/env bash
# bf16, int8 and int4 side by side on the synthetic Llama-3-8B: quantizes into the registry (once;
# timed with peak RSS), then runs DecodeBenchmark for each format, one JVM each so that each peak
# RSS is its own. Usage: benchmarks/run-formats.sh CHECKPOINT_DIR [WOQ_HOME]
# Needs: mvn -B -q -DskipTests install; ~17 GB free RAM; a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:?usage: run-formats.sh CHECKPOINT_DIR [WOQ_HOME]}"
home="${2:-${WOQ_HOME:-$HOME/.woq}}"
results="$here/benchmarks/results"
mkdir -p "$results"
bench() {
  java -Xmx1g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
    -cp "$here/benchmarks/target/woq-benchmarks.jar:$here/benchmarks/target/lib/*" \
    dev.woq.bench.DecodeBenchmark --model "$1" --prompt-tokens 128 --new-tokens 32 --json "$2"
}
# quantize prints the registry entry's directory on stdout (reused in well under a second if present)
int4=$(/usr/bin/time -f "quantize int4: %e s wall, peak RSS %M kB" \
  "$here/woq" quantize --model "$model" --dtype int4 --woq-home "$home")
int8=$(/usr/bin/time -f "quantize int8: %e s wall, peak RSS %M kB" \
  "$here/woq" quantize --model "$model" --dtype int8 --woq-home "$home")
bench "$model" "$results/bf16-llama3-8b.json"
bench "$int8" "$results/int8-llama3-8b.json"
bench "$int4" "$results/int4-g128-llama3-8b.json"
du -sh "$model" "$int8" "$int4"
