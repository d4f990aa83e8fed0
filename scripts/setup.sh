#!/usr/bin/env bash
# Idempotent installer for everything the build and the tests need, on a Debian machine
# that has only rustup/cargo and node/npm. Installs what is missing, checks versions,
# skips what is present. Safe to run again and again (a no-op run takes a few seconds).
#
#   bash scripts/setup.sh          # then: source scripts/env.sh  (PATH for your shell)
#
# Installs: rustup target wasm32-unknown-unknown, components clippy + rustfmt;
# Debian chromium + chromium-driver and redis-server (apt); wasm-bindgen-cli at exactly the wasm-bindgen
# version in Cargo.lock (or the `=x.y.z` pin in Cargo.toml when there is no lock yet);
# cargo-deny and cargo-mutants (pinned, see CARGO_DENY_VERSION, CARGO_MUTANTS_VERSION); `npm ci` at the repo root (wasm-opt from
# `binaryen`, esbuild, playwright-core). (wasm-pack is not needed: scripts/build-pkg.sh runs
# its steps itself.)
# Long installs run in parallel; their logs go to target/setup-logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
T0=$SECONDS
LOG_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/setup-logs"
mkdir -p "$LOG_DIR"

for tool in rustup cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH; this script needs rustup/cargo and node/npm preinstalled"
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 20 ]] || die "Node.js >= 20 required (found $(node --version))"

# ---------------------------------------------------------------- rust target + components
if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  say "rust target wasm32-unknown-unknown: present"
else
  say "rust target wasm32-unknown-unknown: installing"
  rustup target add wasm32-unknown-unknown
fi
installed_components="$(rustup component list --installed)"
for comp in clippy rustfmt; do
  if grep -q "^${comp}" <<<"$installed_components"; then
    say "rust component $comp: present"
  else
    say "rust component $comp: installing"
    rustup component add "$comp"
  fi
done

# ---------------------------------------------------------------- background installs
declare -A BG_PIDS=()   # name -> pid
declare -A BG_LOGS=()   # name -> log file
bg() {  # bg NAME CMD...   run CMD in the background, output to a log
  local name="$1"; shift
  local log="$LOG_DIR/$name.log"
  ( "$@" ) >"$log" 2>&1 &
  BG_PIDS[$name]=$!
  BG_LOGS[$name]="$log"
  say "$name: started in background (log: ${log#"$ROOT"/})"
}

# chromium + chromium-driver, and redis-server for the relay's multi-node tests
# (www/relay/tests/cluster.rs runs /usr/bin/redis-server itself) (apt). apt-get update only
# when something is missing.
apt_pkgs=()
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_pkgs+=(chromium-driver)
[[ -x /usr/bin/redis-server ]] || apt_pkgs+=(redis-server)
if ((${#apt_pkgs[@]})); then
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${apt_pkgs[*]}"
    SUDO=(sudo)
  fi
  apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y "${apt_pkgs[@]}"
  }
  bg apt apt_install
else
  say "chromium + chromedriver + redis-server: present"
fi

# wasm-bindgen-cli: must equal the wasm-bindgen crate version the project builds with.
wb_want=""
if [[ -f Cargo.lock ]]; then
  wb_want="$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
fi
if [[ -z "$wb_want" ]]; then
  # No lock file yet: use the exact pin from Cargo.toml (wasm-bindgen = "=x.y.z").
  wb_want="$(sed -nE 's/^wasm-bindgen *= *("=?|\{ *version *= *"=?)([0-9][0-9.]*)".*/\2/p' Cargo.toml | head -n1)"
fi
[[ -n "$wb_want" ]] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml"
wb_have="$( (wasm-bindgen --version 2>/dev/null || true) | awk '{print $2}')"
wbtr_have="$( (wasm-bindgen-test-runner --version 2>/dev/null || true) | awk '{print $2}')"
if [[ "$wb_have" == "$wb_want" && "$wbtr_have" == "$wb_want" ]]; then
  say "wasm-bindgen-cli $wb_want: present"
else
  say "wasm-bindgen-cli: have '${wb_have:-none}', need $wb_want"
  # NB: never --locked here: the published lock of wasm-bindgen-cli does not build on
  # current toolchains.
  bg wasm-bindgen-cli cargo install wasm-bindgen-cli --version "$wb_want" --force
fi

# cargo-deny (scripts/test.sh: licenses, bans, sources; config in deny.toml). Pinned: 0.20.2
# builds with --locked on Rust 1.88+ (its MSRV; fine on 1.95) and takes ~4.5 min on 2 cores.
# A present cargo-deny >= 0.18 is kept (older releases were not tried with deny.toml).
CARGO_DENY_VERSION="0.20.2"
cd_have="$( (cargo-deny --version 2>/dev/null || true) | awk '{print $2}')"
if [[ -n "$cd_have" ]] && printf '%s\n' "0.18.0" "$cd_have" | sort -V -C; then
  say "cargo-deny: present ($cd_have)"
else
  say "cargo-deny: have '${cd_have:-none}', installing $CARGO_DENY_VERSION"
  bg cargo-deny cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --force
fi

# cargo-mutants (scripts/test.sh's bounded mutation run of src/core/; scripts/mutants.sh). Asked
# as `cargo mutants --version`: the binary run alone refuses `--version`.
# Pinned: 27.0.0, the release the documented runs used; about 2 min to build on 2 cores.
CARGO_MUTANTS_VERSION="27.0.0"
cm_have="$( (cargo mutants --version 2>/dev/null || true) | awk '{print $2}')"
if [[ "$cm_have" == "$CARGO_MUTANTS_VERSION" ]]; then
  say "cargo-mutants: present ($cm_have)"
else
  say "cargo-mutants: have '${cm_have:-none}', installing $CARGO_MUTANTS_VERSION"
  bg cargo-mutants cargo install cargo-mutants --version "$CARGO_MUTANTS_VERSION" --locked --force
fi

# ---------------------------------------------------------------- npm ci (foreground)
# Re-run only when node_modules is missing or was installed from another package-lock.
[[ -f package-lock.json ]] || die "package-lock.json missing at the repo root"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.tether-package-lock.sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" && -x node_modules/.bin/wasm-opt ]]; then
  say "node_modules: up to date with package-lock.json"
else
  say "node_modules: missing or stale; running npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >"$stamp"
fi

# ---------------------------------------------------------------- wait for background jobs
failed=0
for name in "${!BG_PIDS[@]}"; do
  if wait "${BG_PIDS[$name]}"; then
    say "$name: done"
  else
    failed=1
    printf '[setup] ERROR: %s failed; last lines of %s:\n' "$name" "${BG_LOGS[$name]}" >&2
    tail -n 30 "${BG_LOGS[$name]}" >&2 || true
  fi
done
((failed == 0)) || die "installation failed (see above)"

# ---------------------------------------------------------------- final checks
hash -r
check() {  # check NAME CMD...   print the version, fail if the command fails
  local name="$1"; shift
  local out
  if ! out="$("$@" 2>"$LOG_DIR/check.err" | head -n1)" || [[ -z "$out" ]]; then
    die "$name is not usable: $(tail -n 3 "$LOG_DIR/check.err")"
  fi
  say "  $name: $out"
}
say "versions:"
check rustc rustc --version
check cargo cargo --version
check wasm-bindgen wasm-bindgen --version
check wasm-bindgen-test-runner wasm-bindgen-test-runner --version
check cargo-deny cargo-deny --version
check cargo-mutants cargo mutants --version
check wasm-opt wasm-opt --version
check chromium chromium --version
check chromedriver chromedriver --version
check redis-server /usr/bin/redis-server --version
check node node --version
check playwright-core node -p 'require("playwright-core/package.json").version'

[[ "$(wasm-bindgen --version | awk '{print $2}')" == "$wb_want" ]] \
  || die "wasm-bindgen on PATH is $(command -v wasm-bindgen) $(wasm-bindgen --version), need $wb_want"
[[ "$(wasm-bindgen-test-runner --version | awk '{print $2}')" == "$wb_want" ]] \
  || die "wasm-bindgen-test-runner on PATH does not match wasm-bindgen $wb_want"
[[ "$(command -v wasm-opt)" == "$ROOT/node_modules/.bin/wasm-opt" ]] \
  || say "  note: wasm-opt resolves to $(command -v wasm-opt), not node_modules/.bin"
chromium_major="$(chromium --version 2>/dev/null | grep -oE '[0-9]+\.' | head -n1 | tr -d .)"
driver_major="$(chromedriver --version | grep -oE '[0-9]+\.' | head -n1 | tr -d .)"
[[ "$chromium_major" == "$driver_major" ]] \
  || die "chromium ($chromium_major) and chromedriver ($driver_major) major versions differ"

say "ready in $((SECONDS - T0)) s (for your shell: source scripts/env.sh)"
