#!/usr/bin/env bash
# Chaos soak (not part of the tests; a short slice of it is: tests/js/soak.test.mjs).
#
#   bash scripts/soak.sh [seconds]        # default 120
#
# Builds pkg/ if it is missing and the test server (debug), then runs tests/js/soak/run.mjs:
# a test server of its own on free 127.0.0.1 ports, in chaos mode for `seconds` (it drops,
# closes with random codes, delays, refuses and restarts, at random, from a seed), while a
# page in headless Chromium sends a numbered stream through a TetherSocket. Afterwards the
# chaos stops, the socket reconnects and flushes, and every message is accounted for:
# delivered, re-sent, dropped by policy, duplicated, lost in flight with a connection that
# died, or lost silently. Prints the report and writes bench-results/soak-latest.{json,md}.
#
# Exit status: 0 if there was no silent loss and wasm memory stayed flat (and the accounting
# found nothing else wrong), 1 otherwise, 2 if the run could not be carried out. Stops by
# itself: the runner is bounded by `timeout` (seconds + 300 s), the server by its
# --max-lifetime-secs, and both are stopped when the script exits.
# Environment: SOAK_SEED (seed of the fault schedule), TETHER_CHROMIUM.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

seconds="${1:-120}"
case "$seconds" in
  -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 && "$seconds" -le 1800 ]] || {
  echo "soak: seconds must be a whole number from 1 to 1800 (got $seconds)" >&2
  exit 2
}

if [[ ! -f pkg/index.js ]]; then
  printf '\n== pkg/ missing: building it\n'
  bash scripts/build-pkg.sh
fi
printf '\n== test server (cargo build -p tether-test-server)\n'
cargo build -p tether-test-server

runner_pid=""
cleanup() {
  # The runner stops its server and browser itself; this covers Ctrl-C and timeouts.
  if [[ -n "$runner_pid" ]] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf '\n== chaos soak: %s s\n' "$seconds"
args=("$seconds")
[[ -n "${SOAK_SEED:-}" ]] && args+=(--seed "$SOAK_SEED")
timeout --kill-after=10 $((seconds + 300)) node tests/js/soak/run.mjs "${args[@]}" &
runner_pid=$!
set +e
wait "$runner_pid"
rc=$?
set -e
runner_pid=""
exit "$rc"
