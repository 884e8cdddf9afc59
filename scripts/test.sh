#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine. Installs what it needs when absent:
# openssl, the wasm32 Rust target, and (through the scripts it calls) wasm-bindgen-cli,
# Chromium and mdBook.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n==> %s (at %ds)\n' "$*" "$((SECONDS - started))"; }

need_apt() {
  # need_apt <command> <debian package>
  if ! command -v "$1" >/dev/null 2>&1; then
    step "installing $2 (for $1)"
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"
  fi
}

step "tools"
need_apt openssl openssl
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit, property, integration and end-to-end tests"
cargo test --workspace --locked

step "the main job: pushproxy demo"
# The binary the tests just built (cargo run would resolve features anew and rebuild).
"${CARGO_TARGET_DIR:-target}/debug/pushproxy" demo

step "the sans-IO crates build for the browser (wasm32-unknown-unknown)"
for crate in cert config token payload engine cloud; do
  cargo build --locked --target wasm32-unknown-unknown -p "pushproxy-$crate" --no-default-features
done

step "benchmarks in quick test mode (nothing is timed)"
cargo bench --workspace --locked --bench '*' -- --test

for script in scripts/playground-test.sh scripts/book-test.sh; do
  if [ -f "$script" ]; then
    step "$script"
    bash "$script"
  fi
done

step "all tests passed in $((SECONDS - started)) s"
