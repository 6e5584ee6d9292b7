#!/usr/bin/env bash
# Prompt and decode speed of woq and llama.cpp on files that do not fit the page cache together
# (the 8B in bf16: a 16 GB checkpoint and a 16 GB GGUF in 24 GiB): before each tool's run, both
# tools' files are dropped from the page cache (posix_fadvise DONTNEED) and its own read once with
# large reads (dd bs=64M), so each runs from memory, in 2 MB folios (files still cached from being
# written, e.g. a fresh registry entry, can sit in smaller ones). Alternates
# `woq bench --runs WOQ_RUNS` (median) and `llama-bench -r LLAMA_REPS` for ROUNDS rounds and prints
# each run's prefill and decode line.
# Usage: benchmarks/run-warm-pair-vs-llamacpp.sh LLAMA_CPP_BUILD_DIR GGUF MODEL DTYPE
#        [PROMPT_TOKENS=512] [NEW_TOKENS=16] [ROUNDS=2] [THREADS=2]
# MODEL is a Hugging Face directory whose *.safetensors woq reads (bf16; for another DTYPE set
# WOQ_FILES to the registry entry's files). Environment: WOQ_RUNS (default 3), LLAMA_REPS
# (default 3), WOQ_HOME. Needs: mvn -B -q -DskipTests package -pl cli -am; python3; a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 4 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [[ $# -ge 4 ]] && exit 0 || exit 2
fi
build="$1"; gguf="$2"; model="$3"; dtype="$4"
prompt="${5:-512}"; new="${6:-16}"; rounds="${7:-2}"; threads="${8:-2}"
bench="$build/bin/llama-bench"
[[ -x "$bench" ]] || { echo "run-warm-pair-vs-llamacpp: $bench is missing: build llama.cpp's llama-bench first" >&2; exit 1; }
[[ -f "$gguf" ]] || { echo "run-warm-pair-vs-llamacpp: no GGUF file at $gguf" >&2; exit 1; }
read -r -a woq_files <<< "${WOQ_FILES:-$(ls "$model"/*.safetensors 2>/dev/null | tr '\n' ' ')}"
((${#woq_files[@]})) || { echo "run-warm-pair-vs-llamacpp: no *.safetensors in $model: set WOQ_FILES" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
drop() { python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"; }
warm() { for f in "$@"; do dd if="$f" of=/dev/null bs=64M status=none; done; }
for ((r = 1; r <= rounds; r++)); do
  drop "$gguf" "${woq_files[@]}"; warm "${woq_files[@]}"
  echo "round $r, woq $dtype: $("$here/woq" bench --model "$model" --dtypes "$dtype" --prompt-tokens "$prompt" \
    --new-tokens "$new" --runs "${WOQ_RUNS:-3}" --threads "$threads" --out "$out/woq-r$r" 2>/dev/null | grep "^$dtype")"
  drop "${woq_files[@]}" "$gguf"; warm "$gguf"
  "$bench" -m "$gguf" -p "$prompt" -n "$new" -t "$threads" -r "${LLAMA_REPS:-3}" 2>/dev/null \
    | grep -E "pp$prompt|tg$new" | sed "s/^/round $r, llama.cpp: /"
done
