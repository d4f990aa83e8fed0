# shellcheck shell=bash
# Source this file (do not execute it): puts the project's tools on PATH and sets the
# environment the browser tests expect. Used by setup.sh, build-pkg.sh and test.sh.
#   source scripts/env.sh
TETHER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TETHER_ROOT
# wasm-opt (npm package `binaryen`) and playwright-core live in node_modules/.bin;
# wasm-bindgen, wasm-bindgen-test-runner and cargo-deny in ~/.cargo/bin.
export PATH="$TETHER_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# wasm-bindgen-test-runner: drive Debian's Chromium through its chromedriver, with the
# capabilities in ./webdriver.json, and give slow reconnect tests plenty of time.
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}"
# playwright-core in tests/js/harness.mjs launches this binary (never downloads one).
export TETHER_CHROMIUM="${TETHER_CHROMIUM:-/usr/bin/chromium}"
