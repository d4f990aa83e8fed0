#!/usr/bin/env bash
# Builds the example apps into examples/<name>/dist/ (wasm-bindgen --target web output).
#   bash examples/build.sh             # both
#   bash examples/build.sh yew-feed    # one
# Each example is its own cargo workspace; they share one target dir (target/examples) so
# that repeated builds in a checkout are incremental. Prints the time and wasm sizes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/examples}"
# EXAMPLES_PROFILE=dev builds unoptimized (no LTO, no wasm-opt): several times faster to
# compile, which is what the test command wants; the default, release, is what you ship.
PROFILE="${EXAMPLES_PROFILE:-release}"
case "$PROFILE" in
  release) PROFILE_DIR=release ;;
  dev) PROFILE_DIR=debug ;;
  *) echo "EXAMPLES_PROFILE must be release or dev, not $PROFILE" >&2; exit 1 ;;
esac
WASM_DIR="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$PROFILE_DIR"
WASM_OPT="${WASM_OPT:-$ROOT/node_modules/.bin/wasm-opt}"

if [ "$#" -gt 0 ]; then names=("$@"); else names=(leptos-chat yew-feed); fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly (the lock files pin it).
want="$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/examples/${names[0]}/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
if [ "$want" != "$have" ]; then
  echo "wasm-bindgen-cli ${have:-missing}, need $want: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

for name in "${names[@]}"; do
  dir="$ROOT/examples/$name"
  [ -f "$dir/Cargo.toml" ] || { echo "no example named $name" >&2; exit 1; }
  echo "== $name"
  start=$(date +%s)
  cargo build --profile "$PROFILE" --locked --target wasm32-unknown-unknown --manifest-path "$dir/Cargo.toml"
  rm -rf "$dir/dist"
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$dir/dist" "$WASM_DIR/$name.wasm"
  wasm="$dir/dist/${name}_bg.wasm"
  # Optional size pass with wasm-opt (npm package binaryen, installed by scripts/setup.sh).
  if [ "$PROFILE" = release ] && [ -x "$WASM_OPT" ]; then
    "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue -o "$wasm" "$wasm"
  fi
  secs=$(( $(date +%s) - start ))
  raw=$(wc -c < "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  printf '%s: built in %ss; %s: %s bytes, %s bytes gzip -9\n' "$name" "$secs" "${wasm#"$ROOT"/}" "$raw" "$gz"
done
