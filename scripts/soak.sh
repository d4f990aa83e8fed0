#!/usr/bin/env bash
# Chaos soak (not part of the tests; a short slice of it is: tests/js/soak.test.mjs).
#
#   bash scripts/soak.sh [seconds]        # default 120
#
# Builds pkg/ if it is missing and the test server (debug), then runs tests/js/soak/run.mjs:
# a test server of its own on free 127.0.0.1 ports, in chaos mode for `seconds` (it drops,
# closes with random codes, delays, refuses and restarts, at random, from a seed), while a
# page in headless Chromium sends a numbered stream through a TetherSocket whose WebSocket
# class logs every native write and each socket's bufferedAmount at its close. Afterwards the
# chaos stops and fixed phases run (a forced requeue: the server stalls, a big burst, a cut;
# writes while the socket is CLOSING; reconnect(), a too-big message and free() with a burst
# buffered). Every message is then accounted for from those logs and the server's arrivals
# (tests/js/soak/accounting.mjs): delivered, never left a dead socket and requeued, dropped
# by policy, lost in flight (its bytes had left, the connection was cut or closed by the
# server), or lost silently; the library's requeue must equal what never left, arrival
# order must equal write order. Prints the report, writes bench-results/soak-latest.{json,md}.
#
# Exit status: 0 if every check passed (no silent loss, no duplicate, requeue = what never
# left, order kept, outbox model, wasm memory flat, the forced fault requeued), 1 otherwise,
# 2 if the run could not be carried out. Stops by
# itself: the runner is bounded by `timeout` (seconds + 300 s), the server by its
# --max-lifetime-secs, and both are stopped when the script exits.
# Then the continuity soak, as long (tests/js/continuity/run-soak.mjs; its report goes to
# bench-results/soak-continuity-latest.{json,md}).
# Environment: SOAK_SEED (seed of the fault schedule), TETHER_CHROMIUM.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

seconds="${1:-120}"
case "$seconds" in
  -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 && "$seconds" -le 1800 ]] || {
  echo "soak: seconds must be a whole number from 1 to 1800 (got $seconds)" >&2
  exit 2
}

if [[ ! -f pkg/index.js ]]; then
  printf '\n== pkg/ missing: building it\n'
  bash scripts/build-pkg.sh
fi
printf '\n== test server and continuity server (cargo build -p tether-test-server -p tether-server)\n'
cargo build -p tether-test-server -p tether-server

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

# The same with continuity on (tests/js/continuity/soak.mjs): through a chaos proxy to the
# reference server, numbered streams both ways, then a restart without state.
printf '\n== continuity chaos soak: %s s\n' "$seconds"
timeout --kill-after=10 $((seconds + 300)) node tests/js/continuity/run-soak.mjs "${args[@]}" &
runner_pid=$!
set +e
wait "$runner_pid"
crc=$?
set -e
runner_pid=""
((rc != 0)) && exit "$rc"
exit "$crc"
