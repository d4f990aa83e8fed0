#!/usr/bin/env bash
# Benchmarks (not part of the tests): throughput, latency, queue flush, reconnect, size and
# memory of raw WebSocket, TetherSocket (JS), the Rust API, reconnecting-websocket 4.4 and
# partysocket 1.x, in one headless Chromium against the Rust echo server on 127.0.0.1; and of
# TetherSocket from "tether-ws/continuity" with continuity on, and of the protocol written by
# hand over a raw WebSocket, both against the continuity reference server; and, in the same
# run, the same minimal echo app written with tether-ws's Rust API, gloo-net and
# ws_stream_wasm (www/bench/echo): throughput, main-thread time, round trip and size.
#
#   bash scripts/bench.sh [--quick] [--readme] [--no-build] [--no-pkg]
#
# Builds pkg/ (scripts/build-pkg.sh), the esbuild bundles of the JS libraries and the Rust
# bench crate (www/bench/rust → www/bench/dist/), the three echo apps (www/bench/echo →
# www/bench/dist/echo/<name>/: release, wasm-bindgen --target web, wasm-opt -Oz with
# scripts/build-pkg.sh's flags, the glue bundled and minified by esbuild into app.js; and the
# same without wasm-opt, names kept, in dist/echo-names/ for www/bench/profile.mjs
# echo=./dist/echo-names), the release test server and the release
# continuity reference server (www/server, tether-server); starts the test server on
# BENCH_HTTP_PORT/BENCH_WS_PORT/BENCH_BLACKHOLE_PORT (9790/9791/9792, away from the tests'
# 8790-8792) and the reference server (its echo) on BENCH_CONTINUITY_PORT (9793; the tests
# use 8793); runs www/bench/run.mjs; stops both servers. Writes bench-results/latest.json,
# latest.md (the table, ratios to raw WebSocket, continuity on / off, the echo apps' table) and latest.svg.
#   --quick     short runs (checks the harness, numbers not meaningful)
#   --readme    also replace the table between <!-- bench:start --> and <!-- bench:end --> in README.md
#   --no-build  reuse what is built
#   --no-pkg    build the rest but take pkg/ as it is (no scripts/build-pkg.sh: while others'
#               tests use pkg/, say)
# Cargo builds go to CARGO_TARGET_DIR when it is set (the servers, the bench crate and the echo
# apps included), else to target/ and each bench crate's own target/.
# The browser part is bounded by run.mjs's own budget, the whole by BENCH_TIMEOUT (1800 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

HTTP_PORT="${BENCH_HTTP_PORT:-9790}"
WS_PORT="${BENCH_WS_PORT:-9791}"
HOLE_PORT="${BENCH_BLACKHOLE_PORT:-9792}"
CONT_PORT="${BENCH_CONTINUITY_PORT:-9793}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-1800}"
DIST="www/bench/dist"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BENCH_RUST_TARGET="${CARGO_TARGET_DIR:-$ROOT/www/bench/rust/target}"
ECHO_TARGET="${CARGO_TARGET_DIR:-$ROOT/www/bench/echo/target}"
# The echo apps' wasm names (crates www/bench/echo/{tether,gloo,ws-stream}); each goes to
# $DIST/echo/<name without echo_>/.
ECHO_APPS=(echo_tether echo_gloo echo_ws_stream)

build=1
pkg=1
run_args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --no-pkg) pkg=0 ;;
    --quick | --readme) run_args+=("$arg") ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }

if [[ $build == 1 ]]; then
  [[ -x node_modules/.bin/esbuild ]] || { echo "bench: esbuild missing: run npm ci" >&2; exit 1; }
  if [[ $pkg == 1 ]]; then
    step "pkg/ (scripts/build-pkg.sh)"
    bash scripts/build-pkg.sh
  else
    [[ -f pkg/index.js && -f pkg/continuity.js ]] || { echo "bench: pkg/ not built (run without --no-pkg)" >&2; exit 1; }
  fi

  # A snapshot of pkg/ for the page and the size table: a concurrent rebuild of pkg/ (by the
  # tests, say) cannot change the package under a running benchmark.
  rm -rf "$DIST/pkg" && mkdir -p "$DIST" && cp -r pkg "$DIST/pkg"

  step "JS library bundles (esbuild --minify) → $DIST"
  node_modules/.bin/esbuild www/bench/entries/rws.mjs --bundle --minify --format=esm --target=es2020 --outfile="$DIST/rws.js" --log-level=warning
  node_modules/.bin/esbuild www/bench/entries/partysocket.mjs --bundle --minify --format=esm --target=es2020 --outfile="$DIST/partysocket.js" --log-level=warning

  step "Rust API bench crate (www/bench/rust) → $DIST/rust"
  (cd www/bench/rust && cargo build --release --target wasm32-unknown-unknown)
  wasm-bindgen --target web --no-typescript --out-dir "$DIST/rust" \
    "$BENCH_RUST_TARGET/wasm32-unknown-unknown/release/tether_bench.wasm"

  step "echo apps (www/bench/echo: tether-ws, gloo-net, ws_stream_wasm) → $DIST/echo"
  (cd www/bench/echo && cargo build --release --target wasm32-unknown-unknown)
  rm -rf "$DIST/echo" "$DIST/echo-names"
  for app in "${ECHO_APPS[@]}"; do
    name="$app" out="$DIST/echo/${app#echo_}" names="$DIST/echo-names/${app#echo_}"
    wasm-bindgen --target web --no-typescript --out-dir "$names" \
      "$ECHO_TARGET/wasm32-unknown-unknown/release/$name.wasm"
    mkdir -p "$out"
    # The flags of scripts/build-pkg.sh, the same for the three apps.
    wasm-opt -Oz --converge --low-memory-unused --strip-debug --strip-producers --enable-bulk-memory \
      --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      "$names/${name}_bg.wasm" -o "$out/${name}_bg.wasm"
    # The glue (and its snippets) as an app's bundler ships it: one minified module, which
    # finds the wasm beside itself (import.meta.url); for profiling, not minified.
    node_modules/.bin/esbuild "$names/$name.js" --bundle --minify --format=esm --target=es2020 \
      --outfile="$out/app.js" --log-level=error
    node_modules/.bin/esbuild "$names/$name.js" --bundle --format=esm --target=es2020 \
      --outfile="$names/app.js" --log-level=error
  done

  step "release test server and continuity reference server"
  cargo build --release -p tether-test-server -p tether-server
fi

for f in "$DIST/pkg/index.js" "$DIST/pkg/continuity.js" "$DIST/rws.js" "$DIST/partysocket.js" "$DIST/rust/tether_bench.js" \
  "$DIST/echo/tether/app.js" "$DIST/echo/gloo/app.js" "$DIST/echo/ws_stream/app.js" \
  "$TARGET_DIR/release/tether-test-server" "$TARGET_DIR/release/tether-server"; do
  [[ -f "$f" ]] || { echo "bench: $f missing (run without --no-build)" >&2; exit 1; }
done

step "test server on 127.0.0.1:$HTTP_PORT (http), :$WS_PORT (ws)"
"$TARGET_DIR/release/tether-test-server" --root "$ROOT" \
  --http "127.0.0.1:$HTTP_PORT" --ws "127.0.0.1:$WS_PORT" --blackhole "127.0.0.1:$HOLE_PORT" \
  --max-lifetime-secs "$BENCH_TIMEOUT" &
server_pid=$!
cont_pid=""
cont_log="$(mktemp "${TMPDIR:-/tmp}/tether-bench-server.XXXXXX")"
stop_servers() {
  for pid in "$server_pid" $cont_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in "$server_pid" $cont_pid; do wait "$pid" 2>/dev/null || true; done
  rm -f "$cont_log"
}
trap stop_servers EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: the test server exited (ports in use?)" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/health" >/dev/null || { echo "bench: the test server did not come up" >&2; exit 1; }

step "continuity reference server (echo) on 127.0.0.1:$CONT_PORT"
# Its defaults (window 256 messages / 1 MiB each way, TTL 120 s); stopped with the test
# server (SIGTERM) by the trap above.
"$TARGET_DIR/release/tether-server" --listen "127.0.0.1:$CONT_PORT" >"$cont_log" 2>&1 &
cont_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on' "$cont_log" && break
  kill -0 "$cont_pid" 2>/dev/null || { cat "$cont_log" >&2; echo "bench: the reference server exited (port in use?)" >&2; exit 1; }
  sleep 0.1
done
grep -q '^listening on' "$cont_log" || { cat "$cont_log" >&2; echo "bench: the reference server did not come up" >&2; exit 1; }

step "benchmarks (headless Chromium)"
BENCH_HTTP="http://127.0.0.1:$HTTP_PORT" BENCH_WS="ws://127.0.0.1:$WS_PORT" \
  BENCH_CONTINUITY_WS="ws://127.0.0.1:$CONT_PORT" BENCH_CONTINUITY_PID="$cont_pid" \
  timeout --kill-after=10 "$BENCH_TIMEOUT" node www/bench/run.mjs "${run_args[@]}"
