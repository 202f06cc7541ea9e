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
