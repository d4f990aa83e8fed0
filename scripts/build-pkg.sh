#!/usr/bin/env bash
# Builds the npm package into pkg/ (wasm-pack, release, target web, with the smaller
# allocator of feature `small-alloc`), bundles the JS snippets into the glue and strips its
# comments and whitespace (esbuild; names are kept), and prints the sizes of what a browser
# downloads: raw, gzip -9 and brotli (quality 11).
#
#   bash scripts/build-pkg.sh [extra wasm-pack build args...]
#
# wasm-opt and esbuild come from node_modules/.bin (npm packages `binaryen`, `esbuild`) and
# wasm-bindgen from ~/.cargo/bin; wasm-pack downloads nothing when they are on PATH (run
# scripts/setup.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

command -v wasm-pack >/dev/null 2>&1 || { echo "build-pkg: wasm-pack not found; run: bash scripts/setup.sh" >&2; exit 1; }
command -v wasm-opt >/dev/null 2>&1 || { echo "build-pkg: wasm-opt not found; run: bash scripts/setup.sh (npm ci)" >&2; exit 1; }
command -v esbuild >/dev/null 2>&1 || { echo "build-pkg: esbuild not found; run: bash scripts/setup.sh (npm ci)" >&2; exit 1; }

wasm-pack build --release --target web --out-dir pkg --features small-alloc "$@"

files=(pkg/tether_ws_bg.wasm pkg/tether_ws.js)
for f in "${files[@]}"; do
  [[ -f "$f" ]] || { echo "build-pkg: expected $f after wasm-pack build" >&2; exit 1; }
done

# One JS file: the glue with the snippets (src/**/*.js) inlined, without comments and
# whitespace. Identifiers are kept, so stack traces and class names stay readable.
esbuild pkg/tether_ws.js --bundle --minify-whitespace --minify-syntax --format=esm --target=es2020 \
  --outfile=pkg/tether_ws.bundled.js --log-level=error
mv pkg/tether_ws.bundled.js pkg/tether_ws.js
rm -rf pkg/snippets
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("pkg/package.json", "utf8"));
  p.files = p.files.filter((f) => f !== "snippets");
  p.sideEffects = false;
  fs.writeFileSync("pkg/package.json", JSON.stringify(p, null, 2) + "\n");
'

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
