#!/usr/bin/env bash
# bf16, int8 and int4 side by side on the synthetic Llama-3-8B (or any checkpoint):
#   1. writes the 16 GB synthetic checkpoint if CHECKPOINT_DIR has none;
#   2. quantizes it into the registry, timing each recipe with its peak RSS (a second call
#      reuses the entry in under a second);
#   3. runs `woq bench` on all three formats in one process: table on stdout, bench.json and
#      bench.png in benchmarks/results/<checkpoint name>/.
# Usage: benchmarks/run-bench.sh CHECKPOINT_DIR [WOQ_HOME] [extra woq bench options]
# Needs: mvn -B -q -DskipTests install; ~17 GB free RAM; a quiet machine (nothing else running).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
model="$1"
home="${2:-${WOQ_HOME:-$HOME/.woq}}"
shift $(( $# >= 2 ? 2 : 1 ))
if [[ ! -f "$model/config.json" ]]; then
  echo "run-bench: writing the synthetic llama3-8b checkpoint to $model (16 GB)" >&2
  "$here/woq" synth --preset llama3-8b --out "$model"
fi
for dtype in int8 int4; do
  /usr/bin/time -f "run-bench: quantize $dtype: %e s wall, peak RSS %M kB" \
    "$here/woq" quantize --model "$model" --dtype "$dtype" --woq-home "$home" >/dev/null
done
out="$here/benchmarks/results/$(basename "$model")"
exec "$here/woq" bench --model "$model" --woq-home "$home" --dtypes bf16,int8,int4 --out "$out" "$@"
