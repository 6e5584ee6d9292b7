#!/usr/bin/env bash
# Soak test of `woq serve` (not part of CI): a server under steady mixed load for DURATION
# seconds, its resident memory sampled every INTERVAL seconds. The load cycles through
# streamed and whole chat completions, clients that hang up mid-reply (streamed and not) and
# connections opened and dropped, CLIENTS at a time. At the end it prints the RSS after warm-up
# (the first WARMUP seconds are left out): first, last, min, max and the least-squares slope in
# MB per 10 minutes, and fails (exit 1) if the slope exceeds MAX_SLOPE_MB or the server died.
# Usage: benchmarks/soak-serve.sh MODEL [DTYPE]
#   env: DURATION (1800), INTERVAL (5), WARMUP (120), CLIENTS (4), MAX_TOKENS (64),
#        MAX_SLOPE_MB (8), PORT (18181), OUT (benchmarks/results/soak)
# Needs: `mvn -B -q -DskipTests install` (the ./woq launcher), curl.
# Example: benchmarks/soak-serve.sh /tmp/woq-small int4
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
model="$1"
dtype="${2:-bf16}"
duration="${DURATION:-1800}"
interval="${INTERVAL:-5}"
warmup="${WARMUP:-120}"
clients="${CLIENTS:-4}"
max_tokens="${MAX_TOKENS:-64}"
max_slope="${MAX_SLOPE_MB:-8}"
port="${PORT:-18181}"
out="${OUT:-$here/benchmarks/results/soak}"
mkdir -p "$out"
samples="$out/rss.csv"
log="$out/serve.log"
url="http://127.0.0.1:$port"

"$here/woq" serve --model "$model" --dtype "$dtype" --port "$port" --served-model-name soak \
  --max-concurrent "$clients" >"$log" 2>&1 &
server=$!
workers=()
cleanup() {
  for w in "${workers[@]}"; do kill "$w" 2>/dev/null || true; done
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  curl -fs "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "soak: the server exited; see $log" >&2; exit 1; }
  sleep 0.5
done
curl -fs "$url/health" >/dev/null || { echo "soak: the server never became ready; see $log" >&2; exit 1; }

# A chat request's JSON: body N MAX_TOKENS [, "stream": true]
body() {
  printf '{"model":"soak","max_tokens":%d,"temperature":0.8,"seed":%d%s,' "$2" "$1" "${3:-}"
  printf '"messages":[{"role":"user","content":"Request %d: tell me about llamas."}]}' "$1"
}

# One client: an endless cycle of the kinds of request a server meets.
client() {
  local n=0 chat="$url/v1/chat/completions"
  while true; do
    n=$((n + 1))
    case $((n % 5)) in
      0) curl -s -o /dev/null "$chat" -H 'Content-Type: application/json' -d "$(body $n "$max_tokens")" ;;
      1) curl -s -N -o /dev/null "$chat" -H 'Content-Type: application/json' \
           -d "$(body $n "$max_tokens" ',"stream":true')" ;;
      2) curl -s -o /dev/null --max-time 0.3 "$chat" -H 'Content-Type: application/json' \
           -d "$(body $n 2000)" || true ;; # hangs up on a whole reply
      3) curl -s -N -o /dev/null --max-time 0.3 "$chat" -H 'Content-Type: application/json' \
           -d "$(body $n 2000 ',"stream":true')" || true ;; # hangs up mid-stream
      4) (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' >&3 \
           && exec 3>&-) 2>/dev/null || true ;; # a connection dropped mid-request
    esac
  done
}
for _ in $(seq 1 "$clients"); do
  client &
  workers+=("$!")
done

echo "seconds,rss_kb,threads" >"$samples"
start=$(date +%s)
while (( $(date +%s) - start < duration )); do
  kill -0 "$server" 2>/dev/null || { echo "soak: the server died; see $log" >&2; exit 1; }
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$server/status")
  echo "$(( $(date +%s) - start )),$rss,$threads" >>"$samples"
  sleep "$interval"
done
curl -fs "$url/health" >/dev/null || { echo "soak: the server stopped answering; see $log" >&2; exit 1; }
requests=$(grep -c "POST /v1/chat/completions" "$log" || true)

awk -F, -v warmup="$warmup" -v max_slope="$max_slope" -v requests="$requests" '
  NR > 1 && $1 >= warmup {
    n++; x = $1; y = $2 / 1024; sx += x; sy += y; sxx += x * x; sxy += x * y
    if (n == 1) { first = y; min = y; max = y; firstx = x }
    lastx = x
    if (y < min) min = y; if (y > max) max = y; last = y; threads = $3
  }
  END {
    if (n < 3) { print "soak: fewer than 3 samples after warm-up; run longer" > "/dev/stderr"; exit 1 }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx) * 600
    printf "soak: %d requests; RSS after warm-up (%d samples): first %.0f MB, last %.0f MB, min %.0f, max %.0f, slope %.2f MB per 10 min; threads at the end %d\n", requests, n, first, last, min, max, slope, threads
    if (lastx - firstx < 600) { print "soak: under 10 minutes after warm-up: too short to judge the slope (30 minutes is the soak)"; exit 0 }
    if (slope > max_slope) { printf "soak: RSS grows faster than %s MB per 10 min\n", max_slope > "/dev/stderr"; exit 1 }
  }' "$samples"
echo "soak: samples in $samples, server log in $log"
