#!/usr/bin/env bash
# Builds benchmarks/native/int4_kernel_bench.cpp and runs it on the kernels Maven built, for int4
# g128 and int4-q32, one token (decode) and 128 tokens (a prompt), codes aligned and 4 bytes off.
# Usage: benchmarks/native/run-int4-kernel-bench.sh [THREADS=2]
# Needs: g++, mvn -B -q -DskipTests package (for libwoq_kernels.so); ~1 GB RAM; a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lib="$here/runtime/target/classes/dev/woq/runtime/native/linux-x86_64/libwoq_kernels.so"
[[ -f "$lib" ]] || { echo "run-int4-kernel-bench: $lib is missing: build first with mvn -B -q -DskipTests package" >&2; exit 1; }
exe="$(mktemp -d)/int4_kernel_bench"
trap 'rm -rf "$(dirname "$exe")"' EXIT
g++ -O2 -fopenmp -o "$exe" "$here/benchmarks/native/int4_kernel_bench.cpp" -ldl
threads="${1:-2}"
for off in 0 4; do
  for fmt in g128 q32; do
    for m in 1 128; do
      OFF=$off "$exe" "$lib" "$threads" "$fmt" "$m" | tail -1 | sed "s/^/codes $off bytes off: /"
    done
  done
done
