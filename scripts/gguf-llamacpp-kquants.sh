#!/usr/bin/env bash
# Writes the K-quant test files of runtime/src/test/resources/gguf/ (GgufLlamaCppKQuantsTest) with
# llama.cpp's own llama-quantize from a GGUF that woq exported:
#   micro256-woq-bf16.gguf  woq export of a micro Llama (hidden 256, one layer, MLP 512; the weights
#                           of scripts/gguf-micro-llama.py ... k256, imported with woq import)
#   micro256-q4_k_m.gguf, micro256-q5_k_m.gguf, micro256-q6_k.gguf   llama-quantize of it
#
# Usage: scripts/gguf-llamacpp-kquants.sh LLAMA_CPP_BIN GGUF_PY OUT_DIR
#   LLAMA_CPP_BIN  directory holding llama-quantize (your llama.cpp build; made with commit c392e5094)
#   GGUF_PY        a directory on PYTHONPATH that holds llama.cpp's gguf package (gguf-py)
# Needs ./woq built (mvn -B -q -DskipTests package).
set -euo pipefail
bin="$1"; ggufpy="$2"; out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
PYTHONPATH="$ggufpy" python3 "$root/scripts/gguf-micro-llama.py" "$work" k256
WOQ_HOME="$work/home" "$root/woq" import --gguf "$work/micro256-bf16.gguf" --name micro256
WOQ_HOME="$work/home" "$root/woq" export --model micro256 --out "$out/micro256-woq-bf16.gguf" --force
for t in Q4_K_M Q5_K_M Q6_K; do
  "$bin/llama-quantize" "$out/micro256-woq-bf16.gguf" "$out/micro256-$(echo "$t" | tr 'A-Z' 'a-z').gguf" "$t" 2
done
