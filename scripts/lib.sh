# Shared by scripts/build, scripts/run and scripts/test: each step installs
# what is missing, only if it is missing, and says what it does.
# shellcheck shell=bash

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10 # 0.3.11 needs a newer rustc than this machine's 1.95

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs) first"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "Installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown || die "could not add the wasm32 target with rustup"
  fi
}

ensure_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads; about 15 minutes on 2 cores, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
}

ensure_wasm_bindgen() {
  # The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)"
  [ -n "$want" ] || die "wasm-bindgen not found in Cargo.lock"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    say "Installing wasm-bindgen-cli $want (about 2 minutes, once)"
    # Not --locked: its lockfile asks for a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_npm_packages() {
  command -v npm >/dev/null || die "npm not found: install Node.js and npm first"
  if [ ! -f end2end/node_modules/.package-lock.json ] ||
     [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "Installing the npm packages of end2end/ (npm ci)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
  # wasm-opt for release builds comes from npm's binaryen (Debian's is too
  # old and breaks hydration), so it must come first on PATH.
  export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "Installing Debian's chromium for the browser tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# The browser tests run the Python verification snippet against a real delivery.
ensure_python3() {
  if ! command -v python3 >/dev/null 2>&1; then
    say "Installing Debian's python3 for the snippet tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
  fi
}

# The benchmark's receiver and load generator (scripts/bench).
ensure_nginx_wrk() {
  if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
    say "Installing Debian's nginx and wrk for the benchmark"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
  fi
  # The package's own nginx service would hold port 80 for nothing here.
  command -v systemctl >/dev/null 2>&1 && as_root systemctl disable --now nginx >/dev/null 2>&1 || true
}

ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    say "Installing Debian's golang-go for the Go snippet tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
  fi
}

# The settings cargo-leptos' debug build uses, for `cargo test` and
# `cargo clippy`, so that they reuse its compiled dependencies. Do not export
# them before calling cargo-leptos: it adds the cfg itself.
leptos_env() {
  export RUSTFLAGS="--cfg erase_components"
  export LEPTOS_OUTPUT_NAME=signpost
}

# The PostgreSQL server binaries (initdb, pg_ctl) of Debian's package.
ensure_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "Installing Debian's postgresql for the PostgreSQL tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
}

# Starts a throw-away PostgreSQL on a free port of 127.0.0.1, with its data
# in a temporary directory, and exports SIGNPOST_TEST_POSTGRES_URL for the
# tests; `stop_test_postgres` stops it and removes its data. fsync is off:
# this server is for tests only, never for benchmarks.
start_test_postgres() {
  start_postgres "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
}

# The same server with its defaults (fsync on): for benchmarks.
start_bench_postgres() {
  start_postgres ""
}

start_postgres() {
  local durability="$1"
  ensure_postgres
  PG_DIR="$(mktemp -d)"
  local port run=()
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # initdb refuses to run as root: as root, the server runs as `postgres`.
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  say "Starting a throw-away PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
  "${run[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/data/log" -w -s \
    -o "-p $port -k $PG_DIR/data -c listen_addresses=127.0.0.1 $durability -c max_connections=300" \
    start || { cat "$PG_DIR/data/log" >&2; die "PostgreSQL did not start"; }
  export SIGNPOST_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_test_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
