#!/usr/bin/env bash
# Builds the playground (Rust -> WebAssembly -> playground/dist) and serves it on localhost.
#
#   scripts/playground.sh            build, then serve on http://127.0.0.1:8000/ (PORT=... to change)
#   scripts/playground.sh build      build only
#
# Installs what it needs when absent: the wasm32 Rust target, and the wasm-bindgen command
# line tool of exactly the version of the wasm-bindgen crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-serve}"
dist=playground/dist

step() { printf '\n==> %s\n' "$*"; }

ensure_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
  # The command line tool must match the crate exactly.
  local version
  version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
  if [ -z "$version" ]; then
    echo "error: no wasm-bindgen in Cargo.lock; run cargo build -p pushproxy-playground once" >&2
    exit 1
  fi
  local have=""
  if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version | awk '{ print $2 }')"
  fi
  if [ "$have" != "$version" ]; then
    step "installing wasm-bindgen-cli $version (a few minutes, once)"
    cargo install --locked wasm-bindgen-cli --version "$version" \
      || cargo install wasm-bindgen-cli --version "$version"
  fi
}

build() {
  ensure_tools
  step "building the playground for the browser (release)"
  local start=$SECONDS
  # Size over speed for the browser: optimise for size, one codegen unit, link-time
  # optimisation (release builds of the native binary keep the workspace profile).
  cargo build --locked --release --target wasm32-unknown-unknown -p pushproxy-playground \
    --config 'profile.release.opt-level="s"' \
    --config 'profile.release.lto=true' \
    --config 'profile.release.codegen-units=1'
  echo "    cargo build: $((SECONDS - start)) s"

  local target_dir
  target_dir="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  local wasm="$target_dir/wasm32-unknown-unknown/release/pushproxy-playground.wasm"

  step "generating the JavaScript bindings into $dist"
  rm -rf "$dist"
  mkdir -p "$dist"
  wasm-bindgen --target web --no-typescript --remove-name-section \
    --out-dir "$dist" --out-name playground "$wasm"
  cp playground/static/* "$dist/"
  local bytes
  bytes="$(wc -c < "$dist/playground_bg.wasm")"
  echo "    playground_bg.wasm: $bytes bytes (goal: under 2000000 before compression)"
}

build
if [ "$mode" = "build" ]; then
  exit 0
fi

step "serving $dist (Ctrl-C to stop)"
exec python3 playground/serve.py --port "${PORT:-8000}" --dir "$dist"
