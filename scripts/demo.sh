#!/usr/bin/env bash
# The cursor-sharing demo, in one command:
#
#   bash scripts/demo.sh                 # then open http://127.0.0.1:8080/ in two windows
#   bash scripts/demo.sh --addr 127.0.0.1:9000
#   bash scripts/demo.sh --nodes 3       # three relays on a local Redis: 8080, 8081, 8082
#
# Installs what is missing (scripts/setup.sh, idempotent; SKIP_SETUP=1 skips it), builds
# the npm package into pkg/ (scripts/build-pkg.sh), builds the relay (www/relay, release),
# and runs it in the foreground: it serves www/ at /, pkg/ at /pkg/ and the WebSocket at
# /ws on 127.0.0.1 only, and prints the URL. Ctrl-C stops it (every page then shows
# "reconnecting"); run the last command it prints to start it again without rebuilding.
# With --nodes N (2–5), it starts a redis-server of its own (free port, nothing saved) and N
# relays on consecutive ports from --addr's, all sharing the room through it (--broker):
# a page on one relay sees the cursors of pages on the others. Ctrl-C stops them all.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ADDR="127.0.0.1:8080"
NODES=1
relay_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --addr) ADDR="${args[$((i + 1))]:-}"; i=$((i + 1)) ;;
    --addr=*) ADDR="${args[$i]#--addr=}" ;;
    --nodes) NODES="${args[$((i + 1))]:-}"; i=$((i + 1)) ;;
    --nodes=*) NODES="${args[$i]#--nodes=}" ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) relay_args+=("${args[$i]}") ;;
  esac
done
[[ "$NODES" =~ ^[1-5]$ ]] || { echo "demo: --nodes must be 1 to 5 (got $NODES)" >&2; exit 2; }

say() { printf '[demo] %s\n' "$*"; }

if [[ "${SKIP_SETUP:-0}" != "1" ]]; then
  say "checking tools (scripts/setup.sh; SKIP_SETUP=1 to skip)"
  bash scripts/setup.sh >/dev/null || { bash scripts/setup.sh; exit 1; }
fi
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

say "building pkg/ (scripts/build-pkg.sh)"
bash scripts/build-pkg.sh

say "building the relay (cargo build --release -p tether-relay)"
cargo build --release -p tether-relay

relay="${CARGO_TARGET_DIR:-$ROOT/target}/release/tether-relay"
host="${ADDR%:*}"
port="${ADDR##*:}"
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((n = 0; n < NODES; n++)); do
  if in_use $((port + n)); then
    say "127.0.0.1:$((port + n)) is already in use (another relay? 'ss -ltnp sport = :$((port + n))' shows it);"
    say "stop it, or pick another port: bash scripts/demo.sh --addr 127.0.0.1:9000"
    exit 1
  fi
done

if ((NODES == 1)); then
  say "starting the relay; Ctrl-C stops it. To restart it without rebuilding:"
  say "  ${relay#"$ROOT"/} --root . --addr $ADDR ${relay_args[*]}"
  # exec: Ctrl-C and SIGTERM go straight to the relay, which closes every socket cleanly.
  exec "$relay" --root "$ROOT" --addr "$ADDR" "${relay_args[@]}"
fi

# Several relays on a Redis of the demo's own; every process is stopped by pid on exit.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --loglevel warning &
pids+=($!)
for _ in $(seq 50); do in_use "$redis_port" && break; sleep 0.1; done
in_use "$redis_port" || { say "redis-server did not start on port $redis_port"; exit 1; }
broker="redis://127.0.0.1:$redis_port/0"
say "redis-server on 127.0.0.1:$redis_port (nothing saved); $NODES relays on it:"
for ((n = 0; n < NODES; n++)); do
  "$relay" --root "$ROOT" --addr "$host:$((port + n))" --broker "$broker" "${relay_args[@]}" &
  pids+=($!)
done
say "open a window on each, e.g. http://$host:$port/ and http://$host:$((port + 1))/; Ctrl-C stops them all"
wait -n "${pids[@]}" || true
say "a process ended; stopping the rest"
