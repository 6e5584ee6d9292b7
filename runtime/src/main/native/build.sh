#!/usr/bin/env bash
# Builds woq's native int4 kernel (woq_int4_amx.cpp) into OUT_DIR/linux-x86_64/libwoq_int4_amx.so,
# run by Maven before the resources are packaged. The library is optional at run time: on a CPU
# without AMX, on another OS or architecture, or when it is missing, int4 uses libtorch's kernel.
# So on anything but x86-64 Linux this builds nothing; there, a missing g++ is an error (CI
# installs it), because a silent fallback would hide a 2x slower int4 path.
# Usage: build.sh OUT_DIR
set -euo pipefail
out="${1:?usage: build.sh OUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
  echo "woq native: $(uname -s) $(uname -m): no native int4 kernel (libtorch's is used)" >&2
  exit 0
fi
if ! command -v g++ >/dev/null 2>&1; then
  echo "woq native: g++ is missing: install it (Debian: apt-get install g++) to build the int4 AMX kernel" >&2
  exit 1
fi
lib="$out/linux-x86_64/libwoq_int4_amx.so"
src="$here/woq_int4_amx.cpp"
if [[ -f "$lib" && "$lib" -nt "$src" && "$lib" -nt "${BASH_SOURCE[0]}" ]]; then
  exit 0
fi
mkdir -p "$(dirname "$lib")"
# No -march: the AVX-512/AMX code is selected per function and only run after a CPUID check.
g++ -std=c++17 -O3 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
  -o "$lib.tmp" "$src" -ldl
mv "$lib.tmp" "$lib"
