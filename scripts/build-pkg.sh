#!/usr/bin/env bash
# Builds the npm package into pkg/ (wasm-pack, release, target web) and prints the sizes
# of what a browser downloads: raw, gzip -9 and brotli (quality 11).
#
#   bash scripts/build-pkg.sh [extra wasm-pack build args...]
#
# wasm-opt comes from node_modules/.bin (npm package `binaryen`) and wasm-bindgen from
# ~/.cargo/bin; wasm-pack downloads nothing when both are on PATH (run scripts/setup.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

command -v wasm-pack >/dev/null 2>&1 || { echo "build-pkg: wasm-pack not found; run: bash scripts/setup.sh" >&2; exit 1; }
command -v wasm-opt >/dev/null 2>&1 || { echo "build-pkg: wasm-opt not found; run: bash scripts/setup.sh (npm ci)" >&2; exit 1; }

wasm-pack build --release --target web --out-dir pkg "$@"

files=(pkg/tether_ws_bg.wasm pkg/tether_ws.js)
for f in "${files[@]}"; do
  [[ -f "$f" ]] || { echo "build-pkg: expected $f after wasm-pack build" >&2; exit 1; }
done

if command -v brotli >/dev/null 2>&1; then
  brotli_size() { brotli -c -q 11 -- "$1" | wc -c; }
else
  brotli_size() {
    node -e 'const z=require("zlib"),fs=require("fs");process.stdout.write(String(z.brotliCompressSync(fs.readFileSync(process.argv[1]),{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length))' "$1"
  }
fi

echo
echo "pkg sizes (bytes):"
printf '  %-22s %10s %10s %10s\n' file raw gzip-9 brotli
tr=0 tg=0 tb=0
for f in "${files[@]}"; do
  r=$(stat -c %s "$f")
  g=$(gzip -9 -c -- "$f" | wc -c)
  b=$(brotli_size "$f")
  tr=$((tr + r)) tg=$((tg + g)) tb=$((tb + b))
  printf '  %-22s %10d %10d %10d\n' "${f#pkg/}" "$r" "$g" "$b"
done
printf '  %-22s %10d %10d %10d\n' total "$tr" "$tg" "$tb"
