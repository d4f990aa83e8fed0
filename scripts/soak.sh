#!/usr/bin/env bash
# Chaos soak (not part of the tests; a short slice of it is: tests/js/soak.test.mjs).
#
#   bash scripts/soak.sh [seconds]             # default 120
#   bash scripts/soak.sh --nodes N [seconds]   # the soak across N nodes on one Redis (below)
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
#
# With --nodes N (2..9; issue 17): only the continuity soak across nodes
# (tests/js/continuity/run-soak-nodes.mjs): a redis-server of its own on a free port (no
# persistence), N tether-server nodes on it (--store redis://127.0.0.1:PORT/0 --feed-ms 25),
# our load balancer (tests/js/continuity/balancer.mjs) and SOAK_PAGES headless Chromium
# pages (default 2) with continuity on, numbered streams both ways; during the run the node
# a page is on is SIGKILLed mid-stream and restarted on its port, and connections are cut at
# random; then it drains and accounts: 0 lost, 0 duplicated, 0 reordered, both ways, and
# every resume `resumed: true`. Report: bench-results/soak-nodes-latest.{json,md}. Exit 0
# pass, 1 fail, 2 not carried out. Bounded by `timeout` (seconds + 300 s); what the runner
# started is stopped by pid on every exit, by the runner and, should it die, by this script
# (the pids it listed in a file of its own).
# Environment: SOAK_SEED (seed of the fault schedule), SOAK_PAGES (--nodes only),
# TETHER_CHROMIUM, CARGO_TARGET_DIR (where the binaries are built and looked for).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

nodes=""
if [[ "${1:-}" == "--nodes" ]]; then
  nodes="${2:-}"
  [[ "$nodes" =~ ^[0-9]+$ && "$nodes" -ge 2 && "$nodes" -le 9 ]] || {
    echo "soak: --nodes takes a number of nodes from 2 to 9 (got '${nodes}')" >&2
    exit 2
  }
  shift 2
fi
seconds="${1:-120}"
case "$seconds" in
  -h | --help) sed -n '2,40p' "$0"; exit 0 ;;
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
pidfile=""
cleanup() {
  # The runner stops its servers and browser itself; this covers Ctrl-C and timeouts.
  if [[ -n "$runner_pid" ]] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  # And, should the runner have died without stopping them, what it listed: each pid still
  # alive and still the program it was started as.
  if [[ -n "$pidfile" && -f "$pidfile" ]]; then
    while read -r pid name; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "${name:0:15}" ]]; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done <"$pidfile"
    rm -f "$pidfile"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "$nodes" ]]; then
  [[ -x /usr/bin/redis-server ]] || { echo "soak: /usr/bin/redis-server not found: run bash scripts/setup.sh" >&2; exit 2; }
  [[ -f pkg/continuity.js ]] || { echo "soak: pkg/continuity.js missing: run bash scripts/build-pkg.sh" >&2; exit 2; }
  pidfile="$(mktemp "${TMPDIR:-/tmp}/tether-soak-nodes-pids.XXXXXX")"
  export TETHER_PIDFILE="$pidfile"
  printf '\n== continuity chaos soak across %s nodes on one Redis: %s s\n' "$nodes" "$seconds"
  args=("$seconds" --nodes "$nodes")
  [[ -n "${SOAK_SEED:-}" ]] && args+=(--seed "$SOAK_SEED")
  [[ -n "${SOAK_PAGES:-}" ]] && args+=(--pages "$SOAK_PAGES")
  timeout --kill-after=10 $((seconds + 300)) node tests/js/continuity/run-soak-nodes.mjs "${args[@]}" &
  runner_pid=$!
  set +e
  wait "$runner_pid"
  nrc=$?
  set -e
  runner_pid=""
  exit "$nrc"
fi

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
