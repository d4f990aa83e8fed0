#!/usr/bin/env bash
# Builds the npm package into pkg/ and prints the sizes of its entries: raw, gzip -9 and
# brotli (quality 11).
#
#   bash scripts/build-pkg.sh
#
# 1. wasm: the crate without default features and with `js` (the state machine only,
#    no_std: src/js/core.rs), release, built as a cdylib alone; a second time with
#    `continuity` too, for the "tether-ws/continuity" entry. (This is why the steps are
#    wasm-pack's, run by hand: wasm-pack builds every crate type in Cargo.toml, and with the
#    rlib alongside rustc does no LTO, which made the wasm 2.5 KB gzip larger.)
# 2. wasm-bindgen --target web, then wasm-opt -Oz, into target/pkg-build/; the glue is made
#    free of side effects at import, and the wasm is also written as a JS string module
#    (scripts/pkg-files.mjs).
# 3. The entries, each one minified file per format (esbuild; ESM .js and CommonJS .cjs):
#      index  "tether-ws"        the class with the wasm inside (src/js/wasm_inline.js)
#      slim   "tether-ws/slim"   the class, the wasm as tether_ws_bg.wasm (src/js/wasm_slim.js)
#      react  "tether-ws/react"  the hook (src/js/react.js; react and tether-ws external)
#      continuity "tether-ws/continuity"  the class with the continuity protocol, wasm inside
#    (CONTINUITY is false in the others, whose bundles then have none of its code)
#    and their declarations (src/js/*.d.ts, as .d.ts and .d.cts).
# 4. package.json (exports map) from Cargo.toml's metadata, README.md and LICENSE.
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
BUILD="$TARGET_DIR/pkg-build"
rm -rf pkg "$BUILD"
# build_wasm NAME FEATURES: the wasm and its glue into $BUILD/NAME.
build_wasm() {
  local out="$BUILD/$1"
  cargo rustc --lib --release --target wasm32-unknown-unknown --no-default-features --features "$2" \
    --crate-type cdylib
  wasm-bindgen --target web --out-dir "$out" --out-name tether_ws \
    "$TARGET_DIR/wasm32-unknown-unknown/release/tether_ws.wasm"
  # (--low-memory-unused: nothing lives in the first KiB of a Rust wasm's memory, the bottom
  # of its downward stack; it saves about 60 B gzip.)
  wasm-opt -Oz --converge --low-memory-unused --strip-debug --strip-producers --enable-bulk-memory \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$out/tether_ws_bg.wasm" -o "$out/tether_ws_bg.wasm"
  # The glue's imports of its copies of our JS snippets are pointed back at src/ so that each
  # module is bundled once (the wasm's import names stay).
  mv "$out/tether_ws.js" "$out/glue.js"
  local src_rel
  src_rel="$(realpath --relative-to="$out" "$ROOT/src")"
  sed -i -E "/^import /s#(['\"])\./snippets/tether-ws-[^/'\"]+/src/#\1$src_rel/#g" "$out/glue.js"
  node scripts/pkg-files.mjs glue "$out/glue.js"
  node scripts/pkg-files.mjs bytes "$out/tether_ws_bg.wasm" "$out/wasm_bytes.js"
}
build_wasm plain js
build_wasm continuity js,continuity

mkdir -p pkg
bundle() {  # bundle ENTRY OUT WASM_MODULE BUILD_NAME [esbuild args...]
  local entry=$1 out=$2 wasm=$3 build="$BUILD/$4" continuity=false
  [[ $4 == continuity ]] && continuity=true
  shift 4
  for format in esm cjs; do
    local ext=js
    [[ $format == cjs ]] && ext=cjs
    esbuild "$entry" --bundle --minify --format=$format --target=es2022 --platform=neutral \
      --alias:tether-ws-glue="$build/glue.js" --alias:tether-ws-wasm="$wasm" \
      --alias:tether-ws-wasm-bytes="$build/wasm_bytes.js" --define:CONTINUITY=$continuity \
      --log-override:empty-import-meta=silent "$@" --outfile="pkg/$out.$ext" --log-level=error
  done
}
bundle src/js/index.js index ./src/js/wasm_inline.js plain
bundle src/js/slim.js slim ./src/js/wasm_slim.js plain
bundle src/js/react.js react ./src/js/wasm_slim.js plain --external:react --external:tether-ws
bundle src/js/index.js continuity ./src/js/wasm_inline.js continuity
cp "$BUILD/plain/tether_ws_bg.wasm" pkg/
for name in index slim react continuity; do
  cp "src/js/$name.d.ts" "pkg/$name.d.ts"
  # (A .d.cts may only re-export CommonJS declarations.)
  sed 's#"\./index\.js"#"./index.cjs"#g' "src/js/$name.d.ts" >"pkg/$name.d.cts"
done

# The default entry carries its wasm: no .wasm URL, no import.meta, no fetch may be left.
for f in pkg/index.js pkg/index.cjs pkg/continuity.js pkg/continuity.cjs; do
  if grep -qE 'tether_ws_bg\.wasm|import\.meta|fetch\(' "$f"; then
    echo "build-pkg: $f still refers to a .wasm file, import.meta or fetch" >&2
    exit 1
  fi
done

cp README.md LICENSE pkg/
cargo metadata --no-deps --format-version 1 | node scripts/pkg-files.mjs manifest pkg

files=(pkg/index.js pkg/index.cjs pkg/slim.js pkg/tether_ws_bg.wasm pkg/react.js pkg/continuity.js)
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
for f in "${files[@]}"; do
  printf '  %-22s %10d %10d %10d\n' "${f#pkg/}" "$(stat -c %s "$f")" "$(gzip -9 -c -- "$f" | wc -c)" "$(brotli_size "$f")"
done
gz() { gzip -9 -c -- "$1" | wc -c; }
echo "  default entry (index.js, wasm inside): $(gz pkg/index.js) B gzip"
echo "  slim entry (slim.js + tether_ws_bg.wasm): $(($(gz pkg/slim.js) + $(gz pkg/tether_ws_bg.wasm))) B gzip"
echo "  continuity entry (continuity.js, wasm inside): $(gz pkg/continuity.js) B gzip"
