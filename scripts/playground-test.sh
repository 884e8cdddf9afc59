#!/usr/bin/env bash
# Builds the playground for the browser and tests it end to end in headless Chromium.
#
# Installs what it needs when absent: the wasm32 target and wasm-bindgen-cli (through
# scripts/playground.sh), Debian's chromium, Node.js, and the npm package playwright-core
# at the version of playground/e2e/package-lock.json. Screenshots go to
# playground/e2e/artifacts/. The last line is `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
timings=()
step() { printf '\n==> %s\n' "$*"; }
took() { timings+=("$(printf '%-28s %4d s' "$1" "$((SECONDS - $2))")"); }

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

t=$SECONDS
bash scripts/playground.sh build
took "build (release wasm)" "$t"

wasm_bytes="$(wc -c < playground/dist/playground_bg.wasm)"
echo "    size: $wasm_bytes bytes of WebAssembly (goal: under 2000000)"
if [ "$wasm_bytes" -ge 2000000 ]; then
  echo "    warning: the WebAssembly module is over its 2 MB goal"
fi

t=$SECONDS
if [ ! -x /usr/bin/chromium ]; then
  step "installing chromium"
  apt_install chromium
fi
if ! command -v node >/dev/null 2>&1; then
  step "installing Node.js"
  apt_install nodejs npm
fi
if [ ! -d playground/e2e/node_modules/playwright-core ]; then
  step "installing playwright-core (npm, from the lock file)"
  (cd playground/e2e && npm ci --no-audit --no-fund)
fi
took "browser and test tools" "$t"

step "serving playground/dist on a free localhost port"
log="$(mktemp)"
python3 playground/serve.py --port 0 --dir playground/dist --quiet > "$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^serving \(http:[^ ]*\)$/\1/p' "$log")"
  [ -n "$url" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$log" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "the server did not start" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "    $url"

step "end-to-end test in headless Chromium"
t=$SECONDS
result="$(mktemp)"
set +e
node playground/e2e/test.mjs "$url" | tee "$result"
status=${PIPESTATUS[0]}
set -e
took "end-to-end test" "$t"
summary="$(tail -n 1 "$result")"
rm -f "$result"

step "timings"
printf '    %s\n' "${timings[@]}"
printf '    %-28s %4d s\n' "total" "$((SECONDS - started))"
echo "    screenshots: playground/e2e/artifacts/"
echo "$summary"
exit "$status"
