#!/usr/bin/env bash
# Builds the npm package into pkg/ and prints the sizes of what a browser downloads: raw,
# gzip -9 and brotli (quality 11).
#
#   bash scripts/build-pkg.sh
#
# 1. wasm: the crate without default features and with `js` (the state machine only,
#    no_std: src/js/core.rs), release, built as a cdylib alone. (This is why the steps are
#    wasm-pack's, run by hand: wasm-pack builds every crate type in Cargo.toml, and with the
#    rlib alongside rustc does no LTO, which made the wasm 2.5 KB gzip larger.)
# 2. wasm-bindgen --target web, then wasm-opt -Oz.
# 3. One minified JS file (esbuild): the class (src/js/index.js and what it imports) with
#    wasm-bindgen's glue.
# 4. package.json from Cargo.toml's metadata, README.md and LICENSE.
#
# wasm-opt and esbuild come from node_modules/.bin (npm packages `binaryen`, `esbuild`),
# wasm-bindgen from ~/.cargo/bin (run scripts/setup.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

for tool in wasm-bindgen wasm-opt esbuild; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-pkg: $tool not found; run: bash scripts/setup.sh" >&2; exit 1; }
done

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo rustc --lib --release --target wasm32-unknown-unknown --no-default-features --features js \
  --crate-type cdylib
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name tether_ws \
  "$TARGET_DIR/wasm32-unknown-unknown/release/tether_ws.wasm"
wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals pkg/tether_ws_bg.wasm -o pkg/tether_ws_bg.wasm

# The glue's imports of its copies of our JS snippets are pointed back at src/ so that each
# module is bundled once (the wasm's import names stay); the class imports the glue as
# "tether-ws-glue".
mv pkg/tether_ws.js pkg/glue.js
sed -i -E "/^import /s#(['\"])\./snippets/tether-ws-[^/'\"]+/src/#\1../src/#g" pkg/glue.js
esbuild src/js/index.js --bundle --minify --format=esm --target=es2022 \
  --alias:tether-ws-glue=./pkg/glue.js --outfile=pkg/tether_ws.js --log-level=error
rm -rf pkg/glue.js pkg/snippets pkg/tether_ws_bg.wasm.d.ts

cp README.md LICENSE pkg/
cargo metadata --no-deps --format-version 1 | node -e '
  const fs = require("fs");
  const meta = JSON.parse(fs.readFileSync(0, "utf8")).packages.find((p) => p.name === "tether-ws");
  const pkg = {
    name: meta.name,
    type: "module",
    description: meta.description,
    version: meta.version,
    license: meta.license,
    repository: { type: "git", url: meta.repository },
    files: ["tether_ws_bg.wasm", "tether_ws.js", "tether_ws.d.ts"],
    main: "tether_ws.js",
    types: "tether_ws.d.ts",
    sideEffects: false,
    keywords: meta.keywords,
  };
  fs.writeFileSync("pkg/package.json", JSON.stringify(pkg, null, 2) + "\n");
'

files=(pkg/tether_ws_bg.wasm pkg/tether_ws.js)
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
