#!/usr/bin/env bash
# The cursor-sharing demo, in one command:
#
#   bash scripts/demo.sh                 # then open http://127.0.0.1:8080/ in two windows
#   bash scripts/demo.sh --addr 127.0.0.1:9000
#
# Installs what is missing (scripts/setup.sh, idempotent; SKIP_SETUP=1 skips it), builds
# the npm package into pkg/ (scripts/build-pkg.sh), builds the relay (www/relay, release),
# and runs it in the foreground: it serves www/ at /, pkg/ at /pkg/ and the WebSocket at
# /ws on 127.0.0.1 only, and prints the URL. Ctrl-C stops it (every page then shows
# "reconnecting"); run the last command it prints to start it again without rebuilding.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ADDR="127.0.0.1:8080"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --addr) ADDR="${args[$((i + 1))]:-}" ;;
    --addr=*) ADDR="${args[$i]#--addr=}" ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done

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
port="${ADDR##*:}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  say "127.0.0.1:$port is already in use (another relay? 'ss -ltnp sport = :$port' shows it);"
  say "stop it, or pick another port: bash scripts/demo.sh --addr 127.0.0.1:8081"
  exit 1
fi

say "starting the relay; Ctrl-C stops it. To restart it without rebuilding:"
say "  ${relay#"$ROOT"/} --root . $*"
# exec: Ctrl-C and SIGTERM go straight to the relay, which closes every socket cleanly.
exec "$relay" --root "$ROOT" "$@"
