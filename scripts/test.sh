#!/usr/bin/env bash
# THE test command (README, CI):   bash scripts/test.sh
#
# On a fresh machine it installs what is missing (scripts/setup.sh), then, failing fast
# with a message naming the step:
#   1. lint:        cargo fmt --check; clippy (native: the workspace, whose tests/hooks turns
#                   on the `leptos` and `yew` hooks, with tether-ws's testing and codec features, and
#                   tether-ws alone with its defaults;
#                   wasm32 for tether-ws: default features, all features, and the npm
#                   build's `js` without std); cargo doc -D warnings
#                   (wasm32, all features)
#   2. dependencies: cargo deny check licenses bans sources (deny.toml; the workspace and
#                   the two examples), npm audit --omit=dev. NOT checked here: RustSec
#                   advisories (cargo-deny clones its database from GitHub, unreachable on
#                   the build machines; see deny.toml)
#                   a new consumer crate (tests/consumer) resolved afresh and built
#   3. native:      cargo test --workspace with tether-ws's features testing, postcard,
#                   msgpack and codee (core unit + property tests, the API on the testing
#                   transport, the codecs, server smoke tests)
#      mutation:    scripts/mutants.sh --sample 0 (a fixed sample of src/core/'s mutants; any
#                   survivor fails)
#   4. test server: build and start tests/server on 127.0.0.1:8790 (http) / 8791 (ws) /
#                   8792 (blackhole) and the continuity reference server on 8793; always
#                   stopped on exit; the interop server's self-test (tests/interop)
#   5. browser:     wasm-bindgen tests in headless Chromium
#                   (cargo test -p tether-ws --target wasm32-unknown-unknown)
#   6. package:     scripts/build-pkg.sh (pkg/, sizes), npm pack --dry-run, the size budget
#   7. examples:    examples/build.sh (the Leptos and Yew apps, built to wasm32)
#      hooks app:   tests/hooks (the hooks' SSR + hydration app) natively and for wasm32,
#                   wasm-bindgen into tests/hooks/dist/ (for tests/js/hooks.test.mjs)
#   8. JS:          node --test tests/js/ (playwright-core + Debian Chromium: pkg/ in a page,
#                   the examples, the hooks app, the demo with its relay) and
#                   tests/pkg/*.test.mjs (the packaging suite: the `npm pack` tarball
#                   installed into fixture apps for each bundler, runtime, test runner, React
#                   and the TypeScript matrix)
# Node's test summary is printed last so CI can read the pass/fail counts.
#
# Environment knobs: SKIP_SETUP=1 (do not run setup.sh), WASM_BINDGEN_TEST_TIMEOUT (120),
# TETHER_HTTP_PORT / TETHER_WS_PORT / TETHER_BLACKHOLE_PORT (8790/8791/8792).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
T_START=$SECONDS
CURRENT_STEP="start"
STEP_START=$SECONDS
SERVER_PID=""
SUMMARY_PRINTED=0
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# tether-ws's features for the native lint and test runs: the testing transport and the codecs
# (tests/testing_transport.rs, tests/typed_codec.rs need them).
NATIVE_FEATURES="tether-ws/testing,tether-ws/postcard,tether-ws/msgpack,tether-ws/codee"
LOG_DIR="$TARGET_DIR/test-logs"
mkdir -p "$LOG_DIR"
SERVER_LOG="$LOG_DIR/test-server.log"
JS_LOG="$LOG_DIR/js-tests.log"
# Fixed ports (tests and docs use them). Overridable only to run beside another instance;
# exported so the JS harness (and wasm tests that read them) follow.
export TETHER_HTTP_PORT="${TETHER_HTTP_PORT:-8790}"
export TETHER_WS_PORT="${TETHER_WS_PORT:-8791}"
export TETHER_BLACKHOLE_PORT="${TETHER_BLACKHOLE_PORT:-8792}"
# The continuity reference server (www/server) the Rust face's browser tests talk to.
export TETHER_CONTINUITY_PORT="${TETHER_CONTINUITY_PORT:-8793}"
HTTP_PORT=$TETHER_HTTP_PORT WS_PORT=$TETHER_WS_PORT BLACKHOLE_PORT=$TETHER_BLACKHOLE_PORT
CONTINUITY_PORT=$TETHER_CONTINUITY_PORT
CONTINUITY_PID=""
CONTINUITY_LOG="$LOG_DIR/continuity-server.log"
# The known number of tests per step (floors: raise them when you add tests).
NATIVE_TESTS_MIN=532
BROWSER_TESTS_MIN=163
JS_TESTS_MIN=176

elapsed() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }
step() {
  if [[ "$CURRENT_STEP" != "start" ]]; then
    printf '<== %s: ok (%s)\n' "$CURRENT_STEP" "$(elapsed $((SECONDS - STEP_START)))"
  fi
  CURRENT_STEP="$1"
  STEP_START=$SECONDS
  printf '\n==> %s\n' "$1"
}
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# No silent skips: every step that runs tests must run at least its known number of them
# (a floor, raised as tests are added) and skip or ignore none.
#   check_cargo_counts NAME LOG MIN   (the "test result:" lines of cargo test / wasm-bindgen)
check_cargo_counts() {
  local name=$1 log=$2 min=$3 passed ignored
  read -r passed ignored < <(awk '/^test result: /{p+=$4; i+=$8} END {print p+0, i+0}' "$log")
  echo "$name: $passed tests passed, $ignored ignored (at least $min expected)"
  ((passed >= min)) || fail "$name ran $passed tests, fewer than the $min it is known to have: a test file or a test target is not running"
  ((ignored == 0)) || fail "$name ignored $ignored tests: $(grep -E '\.\.\. ignored' "$log" | head -n 20 | tr '\n' ' ')"
}

stop_pid() {
  local pid=$1
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
stop_server() {
  stop_pid "$SERVER_PID"
  stop_pid "$CONTINUITY_PID"
  SERVER_PID="" CONTINUITY_PID=""
}

on_exit() {
  local rc=$?
  stop_server
  if ((rc != 0 && SUMMARY_PRINTED == 0)); then
    printf '\nFAILED during step "%s" (exit code %d) after %s total\n' \
      "$CURRENT_STEP" "$rc" "$(elapsed $((SECONDS - T_START)))" >&2
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------- setup
step "setup (scripts/setup.sh)"
if [[ "${SKIP_SETUP:-0}" != "1" ]]; then
  bash scripts/setup.sh || fail "scripts/setup.sh failed (see above)"
fi
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

# ------------------------------------------------------------------------------- lint
step "lint: cargo fmt --check"
cargo fmt --all -- --check || fail "code is not formatted: run 'cargo fmt --all'"

step "lint: cargo clippy (native, whole workspace; tether-ws alone)"
# (The workspace's tests/hooks turns on tether-ws's `leptos` and `yew`, and NATIVE_FEATURES the
# testing transport and the codecs their tests use: tether-ws alone is linted with its default
# features too.)
cargo clippy --workspace --all-targets --features "$NATIVE_FEATURES" -- -D warnings \
  || fail "clippy (native) reported problems"
cargo clippy -p tether-ws --all-targets -- -D warnings \
  || fail "clippy (native, tether-ws with its default features) reported problems"

step "lint: cargo clippy (wasm32, tether-ws lib + tests; all features; the npm build's)"
cargo clippy -p tether-ws --lib --tests --target wasm32-unknown-unknown -- -D warnings \
  || fail "clippy (wasm32-unknown-unknown) reported problems"
cargo clippy -p tether-ws --lib --tests --target wasm32-unknown-unknown --all-features -- -D warnings \
  || fail "clippy (wasm32-unknown-unknown, all features) reported problems"
cargo clippy -p tether-ws --lib --target wasm32-unknown-unknown --no-default-features --features js \
  -- -D warnings || fail "clippy (wasm32-unknown-unknown, the npm build: no std, js) reported problems"
cargo clippy -p tether-ws --lib --target wasm32-unknown-unknown --no-default-features --features js,continuity \
  -- -D warnings || fail "clippy (wasm32-unknown-unknown, the npm continuity build) reported problems"

step "lint: cargo doc (tether-ws, wasm32 with all features: every link in the docs resolves)"
RUSTDOCFLAGS="-D warnings" cargo doc -p tether-ws --no-deps --target wasm32-unknown-unknown --all-features \
  || fail "cargo doc reported problems (a broken link, or a bad code block)"

# ------------------------------------------------------------------------------- dependencies
step "dependencies: cargo deny check licenses bans sources (workspace + examples)"
# Licenses, banned/duplicate crates and sources (crates.io only) need no network beyond
# the crate metadata. Advisories are deliberately NOT checked: `cargo deny check
# advisories` must clone the RustSec database from github.com, which these machines cannot
# reach ("failed to fetch advisory database ... Could not resolve host: github.com"), and
# it has no offline mode without a database already on disk. Run it where GitHub is
# reachable: cargo deny --workspace check advisories
for manifest in Cargo.toml examples/leptos-chat/Cargo.toml examples/yew-feed/Cargo.toml; do
  echo "-- $manifest"
  ws_flag=()
  [[ "$manifest" == Cargo.toml ]] && ws_flag=(--workspace)
  cargo deny --manifest-path "$manifest" --config deny.toml "${ws_flag[@]}" \
    check --hide-inclusion-graph licenses bans sources \
    || fail "cargo deny (licenses, bans, sources) failed for $manifest; see deny.toml"
done

step "dependencies: npm audit --omit=dev (runtime npm dependencies)"
# The repo root holds dev tooling only and pkg/ (the npm package) declares no dependencies,
# so today there is nothing to audit and npm answers without asking the registry. Note:
# the registry mirror of the build machines does not serve the audit endpoint (a full
# `npm audit` gets "405 Method Not Allowed"), so once a runtime dependency exists this
# step needs a machine that reaches registry.npmjs.org.
npm audit --omit=dev || fail "npm audit --omit=dev reported problems"

step "dependencies: a new consumer crate resolves with the newest wasm-bindgen 0.2 and builds"
# tests/consumer, copied out and resolved afresh (no lock file), built for wasm32 and
# natively: tether-ws must sit beside crates that ask for any wasm-bindgen 0.2, and give
# its dependents an rlib only (no cdylib of ours built in their tree).
CONSUMER="$TARGET_DIR/consumer"
rm -rf "$CONSUMER" && mkdir -p "$CONSUMER"
cp -r tests/consumer/Cargo.toml tests/consumer/src "$CONSUMER/"
sed -i "s#path = \"../..\"#path = \"$ROOT\"#" "$CONSUMER/Cargo.toml"
(
  cd "$CONSUMER"
  export CARGO_TARGET_DIR="$CONSUMER/target"
  cargo generate-lockfile
  echo "consumer resolves: $(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | tail -n1)"
  cargo build --target wasm32-unknown-unknown && cargo build
) || fail "a new crate depending on tether-ws did not resolve or build (tests/consumer)"
if compgen -G "$CONSUMER/target/wasm32-unknown-unknown/debug/deps/tether_ws*.wasm" >/dev/null; then
  fail "tether-ws builds a cdylib in its dependents' tree (crate-type)"
fi

# ------------------------------------------------------------------------------- native tests
step "native tests: cargo test --workspace --features $NATIVE_FEATURES"
cargo test --workspace --features "$NATIVE_FEATURES" 2>&1 | tee "$LOG_DIR/native-tests.log" || fail "native tests failed"
check_cargo_counts "native tests" "$LOG_DIR/native-tests.log" "$NATIVE_TESTS_MIN"

# ------------------------------------------------------------------------------- mutation sample
step "mutation sample: scripts/mutants.sh --sample 0 (cargo-mutants over src/core/)"
# A fixed thirtieth of the core's mutants (about 34) against the native tests: any survivor
# fails the run (the full run, ~1,000 mutants, is `bash scripts/mutants.sh`; README).
bash scripts/mutants.sh --sample 0 || fail "a mutant of src/core/ survived the native tests (see above)"

# ------------------------------------------------------------------------------- test server
step "test server: build and start"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$HTTP_PORT" "$WS_PORT" "$BLACKHOLE_PORT" "$CONTINUITY_PORT"; do
  if port_busy "$port"; then
    fail "port 127.0.0.1:$port is already in use (a leftover tether-test-server?" \
      "'ss -ltnp sport = :$port' shows the process); stop it and run again"
  fi
done
cargo build -p tether-test-server -p tether-relay -p tether-server \
  || fail "building tests/server, the demo relay and the continuity server failed"
"$TARGET_DIR/debug/tether-test-server" --root "$ROOT" \
  --http "127.0.0.1:$HTTP_PORT" --ws "127.0.0.1:$WS_PORT" --blackhole "127.0.0.1:$BLACKHOLE_PORT" \
  >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ready=0
for _ in $(seq 1 600); do # 60 s
  if grep -q '^ready' "$SERVER_LOG" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if ((ready == 0)); then
  echo "--- test server log ($SERVER_LOG):" >&2
  tail -n 30 "$SERVER_LOG" >&2 || true
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    fail "the test server printed no 'ready' line within 60 s"
  fi
  fail "the test server exited before it was ready"
fi
echo "test server (pid $SERVER_PID): $(grep -m1 '^ready' "$SERVER_LOG"); log: ${SERVER_LOG#"$ROOT"/}"
# The continuity reference server: echoes every message to its session and feeds {"n":k}.
"$TARGET_DIR/debug/tether-server" --listen "127.0.0.1:$CONTINUITY_PORT" --feed-ms 50 >"$CONTINUITY_LOG" 2>&1 &
CONTINUITY_PID=$!
for _ in $(seq 1 100); do # 10 s
  grep -q '^listening on' "$CONTINUITY_LOG" 2>/dev/null && break
  kill -0 "$CONTINUITY_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q '^listening on' "$CONTINUITY_LOG" || { tail -n 20 "$CONTINUITY_LOG" >&2; fail "the continuity server did not start"; }
echo "continuity server (pid $CONTINUITY_PID): $(grep -m1 '^listening on' "$CONTINUITY_LOG")"
# The protocol's second implementation, from PROTOCOL.md alone (tests/interop), checked.
node tests/interop/selftest.mjs || fail "the interop server's self-test failed (tests/interop)"

# ------------------------------------------------------------------------------- wasm browser tests
step "browser tests: cargo test -p tether-ws --target wasm32-unknown-unknown (headless Chromium)"
echo "runner: wasm-bindgen-test-runner, CHROMEDRIVER=$CHROMEDRIVER, WASM_BINDGEN_TEST_TIMEOUT=$WASM_BINDGEN_TEST_TIMEOUT"
cargo test -p tether-ws --target wasm32-unknown-unknown 2>&1 | tee "$LOG_DIR/browser-tests.log" \
  || fail "wasm-bindgen browser tests failed"
check_cargo_counts "browser tests" "$LOG_DIR/browser-tests.log" "$BROWSER_TESTS_MIN"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the test server died during the browser tests (log: $SERVER_LOG)"

# ------------------------------------------------------------------------------- npm package
step "package: scripts/build-pkg.sh (pkg/)"
bash scripts/build-pkg.sh || fail "building pkg/ failed"
(cd pkg && npm pack --dry-run) || fail "npm pack --dry-run in pkg/ failed"
# The crate as crates.io would get it: packaged and built from the package alone.
cargo package -p tether-ws --allow-dirty || fail "cargo package of the tether-ws crate failed"
# The size budget (issues #6, #12): the default entry, one JS file with the wasm inside, at
# most 20,000 B gzip -9.
for f in pkg/index.js pkg/index.cjs; do
  shipped=$(gzip -9 -c "$f" | wc -c)
  ((shipped <= 20000)) || fail "$f is $shipped B gzip, over the 20,000 B budget"
  echo "$f (the default entry, wasm inside) is $shipped B gzip, within the 20,000 B budget"
done

# ------------------------------------------------------------------------------- examples
step "examples: examples/build.sh (Leptos chat, Yew feed → wasm32)"
# Unoptimized builds: the tests need working apps, not small ones, and this is much faster.
EXAMPLES_PROFILE=dev bash examples/build.sh || fail "building the example apps failed"

step "hooks app: tests/hooks natively (the server renderer) and for wasm32 (hydration)"
# The same components on both sides: natively (leptos and yew `ssr`) the binary prints a
# server-rendered page; built for wasm32 (leptos `hydrate`, yew `hydration`) it hydrates
# it. tests/js/hooks.test.mjs runs the first and loads the second from tests/hooks/dist/.
cargo build -p tether-hooks-app || fail "building the hooks app (native, ssr) failed"
cargo build -p tether-hooks-app --target wasm32-unknown-unknown || fail "building the hooks app (wasm32) failed"
rm -rf tests/hooks/dist
wasm-bindgen --target web --no-typescript --out-dir tests/hooks/dist \
  "$TARGET_DIR/wasm32-unknown-unknown/debug/tether-hooks-app.wasm" || fail "wasm-bindgen on the hooks app failed"

# ------------------------------------------------------------------------------- JS tests
step "JS tests: node --test tests/js/ tests/pkg/ (playwright-core, Debian Chromium; the packed package in fixture apps)"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the test server is not running (log: $SERVER_LOG)"
set +e
node --test --test-concurrency=1 --test-reporter=spec tests/js/ tests/pkg/*.test.mjs 2>&1 | tee "$JS_LOG"
js_rc=${PIPESTATUS[0]}
set -e
stop_server

# No silent skips (see check_cargo_counts): node's own counts, and the names of any test
# that was skipped or marked todo.
js_count() { grep -E "^ℹ $1 " "$JS_LOG" | tail -n 1 | awk '{print $3}'; }
js_tests=$(js_count tests) js_skipped=$(js_count skipped) js_todo=$(js_count todo)
if ((js_rc == 0)); then
  echo "JS tests: ${js_tests:-0} ran, ${js_skipped:-0} skipped, ${js_todo:-0} todo (at least $JS_TESTS_MIN expected)"
  if ((${js_tests:-0} < JS_TESTS_MIN)); then
    echo "FAILED: the JS tests ran ${js_tests:-0} tests, fewer than the $JS_TESTS_MIN they are known to have" >&2
    js_rc=1
  elif ((${js_skipped:-0} + ${js_todo:-0} > 0)); then
    echo "FAILED: JS tests were skipped or left todo:" >&2
    grep -E '# (SKIP|TODO)' "$JS_LOG" >&2 || true
    js_rc=1
  fi
fi

total=$((SECONDS - T_START))
SUMMARY_PRINTED=1
if ((js_rc != 0)); then
  printf '\nFAILED: JS tests (exit code %d); total wall time %s\n' "$js_rc" "$(elapsed "$total")"
else
  printf '<== JS tests: ok\n\nALL STEPS PASSED; total wall time %s (%d s)\n' "$(elapsed "$total")" "$total"
fi
# Node's summary (ℹ tests/pass/fail/...) last, so CI reads the counts from the last lines.
echo
grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$JS_LOG" | tail -n 8
exit "$js_rc"
