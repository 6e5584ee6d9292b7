#!/usr/bin/env bash
# End-to-end bf16 decode benchmark on a synthetic Llama-3-8B checkpoint (16 GB on disk).
# Usage: benchmarks/run-decode.sh [CHECKPOINT_DIR] [RESULT_JSON]
# Needs: mvn -B -q -DskipTests install; ~17 GB free RAM; a quiet machine (nothing else running).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-/tmp/woq-llama3-8b}"
out="${2:-$here/benchmarks/results/bf16-llama3-8b.json}"
if [[ ! -f "$model/config.json" ]]; then
  echo "bench: writing the synthetic llama3-8b checkpoint to $model (16 GB)" >&2
  "$here/woq" synth --preset llama3-8b --out "$model"
fi
exec java -Xmx1g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -cp "$here/benchmarks/target/woq-benchmarks.jar:$here/benchmarks/target/lib/*" \
  dev.woq.bench.DecodeBenchmark --model "$model" --prompt-tokens 128 --new-tokens 32 --json "$out"
