#!/usr/bin/env bash
# Decode speed of every way woq generates, against `woq bench`, on one model, alternating:
#   per round: woq bench (greedy decode), woq generate --stream, woq chat through a pipe and
#   through a pseudo-terminal (typed after each prompt), and one woq serve stream (curl); with --llama-cpp,
#   also llama.cpp's llama-bench against llama-cli on --gguf (the GGUF of the same weights).
# A streamed path's rate is the median interval between the chunks a reader receives (one per
# token); the bench's is its median decode step. Chat also reports /stats for its first reply
# after loading and a second one (cold against warm).
# Usage: benchmarks/run-decode-parity.sh MODEL [--dtype int4] [--woq-home DIR] [--tokens 64]
#        [--rounds 2] [--threads 2] [--out DIR] [--llama-cpp BUILD_DIR --gguf FILE]
# MODEL: a model directory, or a registry name with --dtype int8/int4.
# Needs: mvn -B -q -DskipTests package; python3, curl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  [[ $# -ge 1 ]] && exit 0 || exit 2
fi
model="$1"; shift
dtype=bf16; home="${WOQ_HOME:-$HOME/.woq}"; tokens=64; rounds=2; threads=2
out="$here/benchmarks/results/decode-parity"; llama=""; gguf=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dtype) dtype="$2"; shift 2 ;;
    --woq-home) home="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --llama-cpp) llama="$2"; shift 2 ;;
    --gguf) gguf="$2"; shift 2 ;;
    *) echo "run-decode-parity: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
if [[ -n "$llama" && ! -f "$gguf" ]]; then
  echo "run-decode-parity: --llama-cpp needs --gguf FILE, the GGUF of the same weights" >&2; exit 2
fi
woq="$here/woq"; timer="$here/benchmarks/stream-timer.py"
mkdir -p "$out"; results="$out/parity.jsonl"; : > "$results"
common=(--model "$model" --dtype "$dtype" --woq-home "$home" --threads "$threads")

# The bench's prompt (BOS, then a fixed spread of ids: ModelBenchmark.prompt), 16 tokens.
ids="128000"; for i in $(seq 1 15); do ids="$ids,$((1000 + 7 * i))"; done
# Two chat messages of similar length; random weights rarely end a reply early.
printf 'Write a short poem about the sea.\n/stats\nWrite a short poem about the moon.\n/stats\n' > "$out/chat-input.txt"

stats() { # label file: the two /stats of a chat transcript, as JSON fields
  python3 - "$1" "$2" >> "$results" <<'PY'
import json, re, sys
text = open(sys.argv[2], encoding="utf-8", errors="replace").read().replace("\r", "")
prompts = re.findall(r"prompt: (\d+) tokens computed .*?, ([\d.]+) tok/s; first token after ([\d.]+) s", text)
replies = re.findall(r"reply: (\d+) tokens, ([\d.]+) tok/s", text)
print(json.dumps({"path": sys.argv[1] + " /stats", "replies": [
    {"prompt_tokens": int(p[0]), "prefill_tok_s": float(p[1]), "first_token_s": float(p[2]),
     "tokens": int(r[0]), "decode_tok_s": float(r[1])} for p, r in zip(prompts, replies)]}))
PY
}

for round in $(seq 1 "$rounds"); do
  echo "run-decode-parity: round $round of $rounds" >&2
  "$woq" bench --model "$model" --woq-home "$home" --dtypes "$dtype" --threads "$threads" \
    --prompt-tokens 16 --new-tokens "$tokens" --runs 1 --json --out "$out/bench" > "$out/bench.json"
  python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["formats"][0]
print(json.dumps({"path": "woq bench", "tokens_per_second": round(f["decode_tokens_per_second"]["median"], 3),
  "median_interval_ms": round(f["median_decode_step_ms"], 2), "first_chunk_s": round(f["time_to_first_token_ms"]["median"] / 1e3, 3)}))' \
    "$out/bench.json" >> "$results"

  "$timer" "woq generate --stream" - "$out/generate.txt" -- "$woq" generate "${common[@]}" \
    --prompt-ids "$ids" --temperature 0 --max-new-tokens "$tokens" --stream >> "$results"

  "$timer" "woq chat (pipe)" "$out/chat-input.txt" "$out/chat-pipe.txt" -- "$woq" chat "${common[@]}" \
    --temperature 0 --max-new-tokens "$tokens" --stream >> "$results"
  stats "woq chat (pipe)" "$out/chat-pipe.txt"

  "$timer" "woq chat (terminal)" "$out/chat-input.txt" "$out/chat-pty.txt" --pty -- "$woq" chat "${common[@]}" \
    --temperature 0 --max-new-tokens "$tokens" --stream >> "$results"
  stats "woq chat (terminal)" "$out/chat-pty.txt"

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$woq" serve "${common[@]}" --port "$port" --served-model-name parity 2> "$out/serve.log" > /dev/null &
  server=$!
  until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "run-decode-parity: woq serve stopped, see $out/serve.log" >&2; exit 1; }
    sleep 1
  done
  body=$(printf '{"model":"parity","stream":true,"temperature":0,"max_tokens":%d,"messages":[{"role":"user","content":"Write a short poem about the sea."}]}' "$tokens")
  "$timer" "woq serve (1 stream)" - "$out/serve.txt" -- curl -sN "http://127.0.0.1:$port/v1/chat/completions" \
    -H 'Content-Type: application/json' -d "$body" >> "$results"
  kill "$server"; wait "$server" 2>/dev/null || true

  if [[ -n "$llama" ]]; then
    "$llama/bin/llama-bench" -m "$gguf" -p 16 -n "$tokens" -t "$threads" -r 1 -o json > "$out/llama-bench.json"
    python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1])) if x["n_gen"] > 0][0]
print(json.dumps({"path": "llama-bench", "tokens_per_second": round(r["avg_ts"], 3)}))' "$out/llama-bench.json" >> "$results"
    "$timer" "llama-cli" - "$out/llama-cli.txt" -- "$llama/bin/llama-cli" -m "$gguf" -t "$threads" -n "$tokens" \
      --temp 0 -no-cnv --ignore-eos -p "Write a short poem about the sea." >> "$results"
  fi
done

# The table: each path's median over rounds, against the bench's (and llama-cli against llama-bench).
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate = {}
for r in rows:
    if r.get("tokens_per_second"):
        rate.setdefault(r["path"], []).append(r["tokens_per_second"])
base = {p: statistics.median(v) for p, v in rate.items()}
print(f"{'path':24} {'tok/s (rounds)':>28} {'of bench':>9}")
for path, v in rate.items():
    ref = base.get("llama-bench" if path.startswith("llama") else "woq bench")
    share = f"{100 * statistics.median(v) / ref:8.1f}%" if ref else ""
    print(f"{path:24} {statistics.median(v):8.2f} {str(v):>19} {share}")
for r in rows:
    if "replies" in r:
        print(r["path"] + ": " + "; ".join(
            f"reply {i + 1}: {x['prompt_tokens']} prompt tokens at {x['prefill_tok_s']} tok/s, first token "
            f"after {x['first_token_s']} s, {x['tokens']} tokens at {x['decode_tok_s']} tok/s"
            for i, x in enumerate(r["replies"])))
PY
echo "run-decode-parity: every measurement in $results" >&2
