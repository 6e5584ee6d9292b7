#!/usr/bin/env bash
# Prompt and decode speed of woq and llama.cpp on the same weights, alternately: for each round,
# `woq bench` at each prompt length, then `llama-bench -p 128,512,2048 -n 32 -t THREADS` on the
# GGUF; prints one row per prompt length (woq tok/s, llama.cpp tok/s, ratio) and writes the raw
# JSON of every run to OUT_DIR. Before the rounds it measures the two cores' multiply limit
# (benchmarks/native/dot_peak.cpp: peak VDPBF16PS and VPDPBUSD rates on THREADS threads) and, when
# MODEL is a directory with a config.json, states woq's prefill as a fraction of the limit of the
# instruction its prompts run on (VPDPBUSD for int4 on int8 activations, VDPBF16PS otherwise),
# counting the projections' multiply-adds (2 operations each; attention and the output layer left
# out, so the fraction is slightly low).
# Usage: benchmarks/run-prefill-vs-llamacpp.sh LLAMA_CPP_BUILD_DIR GGUF MODEL DTYPE OUT_DIR
#        [ROUNDS=2] [THREADS=2]
# LLAMA_CPP_BUILD_DIR holds bin/llama-bench (built by you, outside this repository); GGUF is the
# same weights in the matching llama.cpp format (int4 ~ Q4_0, int8 ~ Q8_0, bf16 ~ BF16); MODEL
# and DTYPE are what `woq bench --model MODEL --dtypes DTYPE` takes (set WOQ_HOME for a registry).
# Needs: mvn -B -q -DskipTests package -pl cli -am; jq; g++; a quiet machine (on a shared host, wrap
# the call in flock on a lock the others use).
# Environment: LENGTHS (prompt lengths, default "128 512 2048"), LLAMA_REPS (llama-bench -r,
# default 3), WOQ_RUNS (woq bench --runs, default 1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 5 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [[ $# -ge 5 ]] && exit 0 || exit 2
fi
build="$1"; gguf="$2"; model="$3"; dtype="$4"; out="$5"; rounds="${6:-2}"; threads="${7:-2}"
bench="$build/bin/llama-bench"
[[ -x "$bench" ]] || { echo "run-prefill-vs-llamacpp: $bench is missing: build llama.cpp's llama-bench first" >&2; exit 1; }
[[ -f "$gguf" ]] || { echo "run-prefill-vs-llamacpp: no GGUF file at $gguf" >&2; exit 1; }
command -v jq >/dev/null || { echo "run-prefill-vs-llamacpp: jq is missing (apt-get install jq)" >&2; exit 1; }
mkdir -p "$out"
read -r -a lengths <<< "${LENGTHS:-128 512 2048}"
llama_reps="${LLAMA_REPS:-3}"
woq_runs="${WOQ_RUNS:-1}"
peak_dir="$(mktemp -d)"
trap 'rm -rf "$peak_dir"' EXIT
g++ -O2 -fopenmp -o "$peak_dir/dot_peak" "$here/benchmarks/native/dot_peak.cpp"
"$peak_dir/dot_peak" "$threads" | tee "$out/limit.txt" >&2
bf16_limit=$(awk '/^VDPBF16PS/ { print $3 }' "$out/limit.txt")
int8_limit=$(awk '/^VPDPBUSD \(/ { print $5 }' "$out/limit.txt")
# GFLOP of the projections per token: 2 x layers x (q + k + v + o + gate + up + down) multiply-adds
gflop=""
if [[ -f "$model/config.json" ]]; then
  gflop=$(jq '(.hidden_size / .num_attention_heads) as $d | 2 * .num_hidden_layers
    * (2 * .hidden_size * .hidden_size + 2 * .hidden_size * .num_key_value_heads * $d
       + 3 * .hidden_size * .intermediate_size) / 1e9' "$model/config.json")
fi
for ((r = 1; r <= rounds; r++)); do
  for p in "${lengths[@]}"; do
    echo "run-prefill-vs-llamacpp: round $r: woq $dtype, $p-token prompt" >&2
    "$here/woq" bench --model "$model" --dtypes "$dtype" --prompt-tokens "$p" --new-tokens 32 --runs "$woq_runs" \
      --threads "$threads" --out "$out/woq-r$r-p$p" --json > "$out/woq-r$r-p$p.json"
  done
  echo "run-prefill-vs-llamacpp: round $r: llama-bench" >&2
  "$bench" -m "$gguf" -p "$(IFS=,; echo "${lengths[*]}")" -n 32 -t "$threads" -r "$llama_reps" -o json > "$out/llama-r$r.json"
done
[[ -n "$gflop" ]] && echo "projections: $gflop GFLOP per token; multiply limit: VDPBF16PS $bf16_limit GFLOP/s, VPDPBUSD ${int8_limit:-none} GOP/s"
printf '| round | prompt | woq %s prefill tok/s | llama.cpp prefill tok/s | ratio | woq decode tok/s | llama.cpp decode tok/s | ratio | woq of the multiply limit |\n' "$dtype"
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for ((r = 1; r <= rounds; r++)); do
  llama_decode=$(jq '[.[] | select(.n_prompt == 0 and .n_gen > 0)][0].avg_ts' "$out/llama-r$r.json")
  for p in "${lengths[@]}"; do
    woq_pp=$(jq '.formats[0].prefill_tokens_per_second.median' "$out/woq-r$r-p$p.json")
    woq_tg=$(jq '.formats[0].decode_tokens_per_second.median' "$out/woq-r$r-p$p.json")
    llama_pp=$(jq --argjson p "$p" '[.[] | select(.n_prompt == $p and .n_gen == 0)][0].avg_ts' "$out/llama-r$r.json")
    limit="$bf16_limit"
    if [[ "$dtype" == int4* ]] && jq -e '.engine | test("int8 activations")' "$out/woq-r$r-p$p.json" >/dev/null; then
      limit="$int8_limit"
    fi
    awk -v r="$r" -v p="$p" -v a="$woq_pp" -v b="$llama_pp" -v c="$woq_tg" -v d="$llama_decode" -v g="${gflop:-0}" -v l="$limit" \
      'BEGIN { f = g > 0 ? sprintf("%.0f%% of %.0f", 100 * a * g / l, l) : "n/a";
               printf "| %d | %d | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx | %s |\n", r, p, a, b, a / b, c, d, c / d, f }'
  done
done
