#!/usr/bin/env bash
# int4 quality side by side on llm-like synthetic weights: weight SQNR, entry size, quantize time
# and peak RSS, and `woq eval` (perplexity, KL divergence to bf16, top-1 agreement, logits cosine)
# for int4-q32 (the default) with the MSE search and with round-to-nearest, int4 with bf16 scales
# at groups 128 and 32, and int8.
#   benchmarks/run-quality.sh [PRESET] [WORKDIR] [CONTEXT]
# ROWS="q32 q32-rtn g128 g128-rtn g32 int8" (the default) picks the woq rows; on the 8B shape each
# row costs a quantize and an eval beside the bf16 reference. WEIGHTS=llm-like-outliers synthesizes
# with outlier features (default llm-like). ROWS="q32 q32-cal" adds int4-q32 calibrated on
# README.md as of commit 30425a1 (another text than the one scored); with LLAMA_CPP_BIN, llama.cpp
# then also gets Q4_K_M with an importance matrix from llama-imatrix on that same text.
# The text is docs/architecture.md as of commit 30425a1 (part of this repository), so the
# tokens are the same on every run. Needs the woq launcher built (README: Build) and the tokenizer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-small}"
work="${2:-/tmp/woq-quality}"
context="${3:-256}"
woq="$here/woq"
weights="${WEIGHTS:-llm-like}"
model="$work/$preset-$weights"
home="$work/home"
text="$work/eval.txt"
calibration="$work/calibration.txt"
mkdir -p "$work"
git -C "$here" show 30425a1:docs/architecture.md > "$text"
git -C "$here" show 30425a1:README.md > "$calibration"
if [[ ! -f "$model/config.json" ]]; then
  "$woq" synth --preset "$preset" --weights "$weights" --seed 1 --out "$model" >/dev/null
fi
run() { # name, quantize args...; then eval args
  local name="$1"; shift
  local q=() e=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do q+=("$1"); shift; done
  shift
  e=("$@")
  local qlog entry
  entry="$(/usr/bin/time -v -o "$work/quantize.time" "$woq" quantize --model "$model" --woq-home "$home" \
    --force "${q[@]}" 2>"$work/quantize.log")"
  qlog="$(cat "$work/quantize.log")"
  local qsec rss size
  qsec="$(sed -n 's/.*(quantizing \([0-9.]*\) s).*/\1/p' <<<"$qlog")"
  rss="$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$work/quantize.time")"
  cpu="$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$work/quantize.time")"
  size="$(du -sb --exclude=cpu-cache "$entry" | cut -f1)"
  local json
  json="$("$woq" eval --model "$model" --woq-home "$home" --text "$text" --context "$context" \
    --reference bf16 --weight-sqnr --json "${e[@]}" 2>/dev/null)"
  python3 - "$name" "$qsec" "$json" "$rss" "$size" "$cpu" <<'PY'
import json, sys
name, qsec, j, rss, size, cpu = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
print(f"| {name} | {size / 1e6:,.1f} MB | {j['weight_sqnr_db']:.2f} | {j['kl_mean']:.6f} | {j['kl_p99']:.6f} | "
      f"{100*j['top1_agreement']:.2f} % | {j['logits_cosine']:.5f} | {j['perplexity']:.3f} | {qsec} s ({cpu} s CPU) | "
      f"{rss / 1024:,.0f} MiB |")
PY
}
rows="${ROWS:-q32 q32-rtn g128 g128-rtn g32 int8}"
want() { [[ " $rows " == *" $1 "* ]]; }
echo "preset $preset, $weights weights, $context-token windows"
echo "| recipe (bits a weight) | entry | weight SQNR (dB) | KL mean | KL p99 | top-1 | cosine | ppl | quantize (CPU) | quantize peak RSS |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
want q32 && run "int4-q32 (mse, the default; 4.5)" --dtype int4 -- --dtype int4
want q32-cal && run "int4-q32-cal (mse weighted by calibration; 4.5)" --dtype int4 --calibration "$calibration" -- \
  --dtype int4 --calibration "$calibration"
want q32-rtn && run "int4-q32-rtn (4.5)" --dtype int4 --int4-search none -- --dtype int4 --int4-search none
want g128 && run "int4-g128 (mse; 4.25)" --dtype int4 --group-size 128 -- --dtype int4 --group-size 128
want g128-rtn && run "int4-g128-rtn (4.25)" --dtype int4 --group-size 128 --int4-search none -- \
  --dtype int4 --group-size 128 --int4-search none
want g32 && run "int4-g32 (mse; 5.0)" --dtype int4 --group-size 32 -- --dtype int4 --group-size 32
want int8 && run "int8-g32 (8.5)" --dtype int8 -- --dtype int8

# llama.cpp on the same weights, when LLAMA_CPP_BIN names a build's bin/ (llama-quantize,
# llama-perplexity; built by you, outside this repository): woq export writes the bf16 GGUF,
# llama-quantize makes Q4_0, Q4_K_M and Q8_0 from it, and llama-perplexity --kl-divergence scores
# each against the bf16 file's logits on the same text and window length.
if [[ -n "${LLAMA_CPP_BIN:-}" ]]; then
  gguf="$work/$preset-$weights-bf16.gguf"
  [[ -f "$gguf" ]] || "$woq" export --model "$model" --out "$gguf" >/dev/null 2>&1
  base="$work/$preset-$weights-bf16.kld"
  [[ -f "$base" ]] || "$LLAMA_CPP_BIN/llama-perplexity" -m "$gguf" -f "$text" -c "$context" -t 2 \
    --kl-divergence-base "$base" >/dev/null 2>&1
  echo
  echo "| llama.cpp | bits/weight (file) | file | KL mean | KL p99 | same top-1 | quantize | quantize peak RSS |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  types="Q4_0 Q4_K_M Q8_0"
  if want q32-cal; then
    imatrix="$work/$preset-$weights.imatrix"
    [[ -f "$imatrix" ]] || "$LLAMA_CPP_BIN/llama-imatrix" -m "$gguf" -f "$calibration" -c 512 -t 2 -o "$imatrix" \
      >"$work/imatrix.log" 2>&1
    types="$types Q4_K_M-imatrix"
  fi
  for t in $types; do
    q="$work/$preset-$weights-$t.gguf"
    args=("$gguf" "$q" "${t%-imatrix}" 2)
    [[ "$t" == *-imatrix ]] && args=(--imatrix "$imatrix" "${args[@]}")
    [[ -f "$q" ]] || /usr/bin/time -v -o "$work/$t.time" "$LLAMA_CPP_BIN/llama-quantize" "${args[@]}" \
      >"$work/$t.quantize.log" 2>&1
    log="$("$LLAMA_CPP_BIN/llama-perplexity" -m "$q" -f "$text" -c "$context" -t 2 \
      --kl-divergence-base "$base" --kl-divergence 2>&1)"
    size="$(sed -n 's/.*file size *= *\([0-9.]*\) [MG]iB (\([0-9.]*\) BPW).*/\2/p' <<<"$log" | head -1)"
    kl="$(sed -n 's/^Mean *KLD: *\([0-9.e-]*\).*/\1/p' <<<"$log" | head -1)"
    p99="$(sed -n 's/^99\.0% *KLD: *\([0-9.e-]*\).*/\1/p' <<<"$log" | head -1)"
    top="$(sed -n 's/^Same top p: *\([0-9.]*\).*/\1/p' <<<"$log" | head -1)"
    qs="?"; qrss="?"
    if [[ -f "$work/$t.time" ]]; then
      qs="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *\(.*\)/\1/p' "$work/$t.time")"
      qrss="$(( $(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$work/$t.time") / 1024 )) MiB"
    fi
    echo "| $t | ${size:-?} | $(( $(stat -c %s "$q") / 1000000 )) MB | $kl | $p99 | $top % | $qs | $qrss |"
  done
fi
