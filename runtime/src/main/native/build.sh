#!/usr/bin/env bash
# Builds woq's native kernels (woq_native.cpp, woq_avx512.cpp, woq_int4_amx.cpp) into
# OUT_DIR/linux-x86_64/libwoq_kernels.so, run by Maven before the resources are packaged. The library
# is optional at run time: on a CPU without AVX-512 BF16, on another OS or architecture, or when it
# is missing, every format runs on libtorch's kernels.
# So on anything but x86-64 Linux this builds nothing; there, a missing g++ is an error (CI
# installs it), because a silent fallback would hide 1.5-3x slower decoding.
# Usage: build.sh OUT_DIR
set -euo pipefail
out="${1:?usage: build.sh OUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
  echo "woq native: $(uname -s) $(uname -m): no native kernels (libtorch's are used)" >&2
  exit 0
fi
if ! command -v g++ >/dev/null 2>&1; then
  echo "woq native: g++ is missing: install it (Debian: apt-get install g++) to build woq's native kernels" >&2
  exit 1
fi
lib="$out/linux-x86_64/libwoq_kernels.so"
sources=("$here"/woq_*.cpp)
fresh=1
for f in "${sources[@]}" "$here"/woq_*.h "${BASH_SOURCE[0]}"; do
  [[ -f "$lib" && "$lib" -nt "$f" ]] || fresh=0
done
((fresh)) && exit 0
mkdir -p "$(dirname "$lib")"
# No -march: the AVX-512/AMX code is selected per function and only run after a CPUID check.
g++ -std=c++17 -O3 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
  -o "$lib.tmp" "${sources[@]}" -ldl
mv "$lib.tmp" "$lib"
