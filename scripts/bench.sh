#!/usr/bin/env bash
# Benchmarks (not part of the tests): throughput, latency, queue flush, reconnect, size and
# memory of raw WebSocket, TetherSocket (JS), the Rust API, reconnecting-websocket 4.4 and
# partysocket 1.x, in one headless Chromium against the Rust echo server on 127.0.0.1.
#
#   bash scripts/bench.sh [--quick] [--readme] [--no-build]
#
# Builds pkg/ (scripts/build-pkg.sh), the esbuild bundles of the JS libraries and the Rust
# bench crate (www/bench/rust → www/bench/dist/), and the release test server; starts the
# server on BENCH_HTTP_PORT/BENCH_WS_PORT/BENCH_BLACKHOLE_PORT (9790/9791/9792, away from the
# tests' 8790-8792); runs www/bench/run.mjs; stops the server. Writes
# bench-results/latest.json, latest.md (the table, ratios to raw WebSocket) and latest.svg.
#   --quick     short runs (checks the harness, numbers not meaningful)
#   --readme    also replace the table between <!-- bench:start --> and <!-- bench:end --> in README.md
#   --no-build  reuse what is built
# The browser part is bounded by run.mjs's own budget, the whole by BENCH_TIMEOUT (900 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

HTTP_PORT="${BENCH_HTTP_PORT:-9790}"
WS_PORT="${BENCH_WS_PORT:-9791}"
HOLE_PORT="${BENCH_BLACKHOLE_PORT:-9792}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-900}"
DIST="www/bench/dist"

build=1
run_args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --quick | --readme) run_args+=("$arg") ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }

if [[ $build == 1 ]]; then
  [[ -x node_modules/.bin/esbuild ]] || { echo "bench: esbuild missing: run npm ci" >&2; exit 1; }
  step "pkg/ (scripts/build-pkg.sh)"
  bash scripts/build-pkg.sh

  # A snapshot of pkg/ for the page and the size table: a concurrent rebuild of pkg/ (by the
  # tests, say) cannot change the package under a running benchmark.
  rm -rf "$DIST/pkg" && mkdir -p "$DIST" && cp -r pkg "$DIST/pkg"

  step "JS library bundles (esbuild --minify) → $DIST"
  node_modules/.bin/esbuild www/bench/entries/rws.mjs --bundle --minify --format=esm --target=es2020 --outfile="$DIST/rws.js" --log-level=warning
  node_modules/.bin/esbuild www/bench/entries/partysocket.mjs --bundle --minify --format=esm --target=es2020 --outfile="$DIST/partysocket.js" --log-level=warning

  step "Rust API bench crate (www/bench/rust) → $DIST/rust"
  (cd www/bench/rust && cargo build --release --target wasm32-unknown-unknown)
  wasm-bindgen --target web --no-typescript --out-dir "$DIST/rust" \
    www/bench/rust/target/wasm32-unknown-unknown/release/tether_bench.wasm

  step "release test server"
  cargo build --release -p tether-test-server
fi

for f in "$DIST/pkg/index.js" "$DIST/rws.js" "$DIST/partysocket.js" "$DIST/rust/tether_bench.js" target/release/tether-test-server; do
  [[ -f "$f" ]] || { echo "bench: $f missing (run without --no-build)" >&2; exit 1; }
done

step "test server on 127.0.0.1:$HTTP_PORT (http), :$WS_PORT (ws)"
target/release/tether-test-server --root "$ROOT" \
  --http "127.0.0.1:$HTTP_PORT" --ws "127.0.0.1:$WS_PORT" --blackhole "127.0.0.1:$HOLE_PORT" \
  --max-lifetime-secs "$BENCH_TIMEOUT" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: the test server exited (ports in use?)" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/health" >/dev/null || { echo "bench: the test server did not come up" >&2; exit 1; }

step "benchmarks (headless Chromium)"
BENCH_HTTP="http://127.0.0.1:$HTTP_PORT" BENCH_WS="ws://127.0.0.1:$WS_PORT" \
  timeout --kill-after=10 "$BENCH_TIMEOUT" node www/bench/run.mjs "${run_args[@]}"
