#!/usr/bin/env bash
# Regenerates the book's transcripts: every CLI transcript, the output of every Rust listing and
# the command-line reference, by running the programs.
#
#   bash scripts/book-transcripts.sh [OUT_DIR]
#
# OUT_DIR defaults to book/src/transcripts. Each scene runs in a fresh temporary directory (so
# the data directory is the default `pushproxy-data` of a clean working directory), the output
# is recorded as `$ command` lines followed by what the command printed (standard output and
# standard error, in order), a failing command gets a line `[exit status N]`, and the finished
# transcript goes through book/tools/mask-transcript.py, the one filter that replaces values that
# change per run (thumbprints, GUIDs, dates, tokens, ...) with placeholders.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-book/src/transcripts}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/debug/pushproxy
EXAMPLES=$TARGET_DIR/debug/examples

echo "==> building pushproxy and the book's listings" >&2
cargo build --locked --quiet -p pushproxy --bin pushproxy
cargo build --locked --quiet -p pushproxy-book-listings --examples

WORK=$(mktemp -d -t pushproxy-book.XXXXXX)
WORK=$(cd "$WORK" && pwd -P)

# Servers started by a scene, stopped (by process id) when it ends.
BACKGROUND=()
stop_background() {
  local pid tries
  for pid in "${BACKGROUND[@]}"; do
    kill "$pid" 2>/dev/null || true
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do
      sleep 0.1
      tries=$((tries + 1))
    done
  done
  BACKGROUND=()
}
cleanup() {
  stop_background
  rm -rf "$WORK"
}
trap cleanup EXIT

# The commands run as an administrator types them: `pushproxy ...` in a clean directory, with
# nothing from the caller's environment that changes the output.
mkdir -p "$WORK/bin"
ln -s "$BIN" "$WORK/bin/pushproxy"
export PATH="$WORK/bin:$PATH"
unset PUSHPROXY_DATA_DIR PUSHPROXY_CLOUD_DATA_DIR PUSHPROXY_LOG
export NO_COLOR=1 TZ=UTC LC_ALL=C

# The example tenant: the domain of the original instructions and the book's example tenant id
# (kept by the mask, as are the well-known principal ids).
DOMAIN=fabrikam.com
TENANT=4d2a1b3c-5e6f-4a8b-9c0d-1e2f3a4b5c6d
EXCHANGE=00000002-0000-0ff1-ce00-000000000000
# A loopback port nothing listens on: connecting to it is refused at once.
CLOSED=http://127.0.0.1:9

RAW=$WORK/raw
mkdir -p "$RAW"
SCENE=
SCENE_DIR=

# scene NAME: starts a transcript in a fresh working directory.
scene() {
  SCENE=$1
  SCENE_DIR=$WORK/scenes/$SCENE
  mkdir -p "$SCENE_DIR"
  cd "$SCENE_DIR"
  : >"$RAW/$SCENE.txt"
}

# next_transcript NAME: goes on in the same directory, recording into another transcript.
next_transcript() {
  SCENE=$1
  : >"$RAW/$SCENE.txt"
}

# show 'COMMAND LINE': runs it in the scene's directory and records it with its output.
show() {
  local rc=0
  if [ -s "$RAW/$SCENE.txt" ]; then echo >>"$RAW/$SCENE.txt"; fi
  printf '$ %s\n' "$1" >>"$RAW/$SCENE.txt"
  (eval "$1") </dev/null >>"$RAW/$SCENE.txt" 2>&1 || rc=$?
  end_line
  if [ "$rc" -ne 0 ]; then echo "[exit status $rc]" >>"$RAW/$SCENE.txt"; fi
}

# end_line: ends the transcript with a newline (curl prints answers without one).
end_line() {
  if [ -s "$RAW/$SCENE.txt" ] && [ "$(tail -c 1 "$RAW/$SCENE.txt")" != "" ]; then
    echo >>"$RAW/$SCENE.txt"
  fi
}

# quiet 'COMMAND LINE': runs it without recording; it must succeed.
quiet() {
  local log=$WORK/quiet.log
  if ! (eval "$1") </dev/null >"$log" 2>&1; then
    echo "book-transcripts: scene $SCENE: \`$1\` failed:" >&2
    cat "$log" >&2
    exit 1
  fi
}

# has COMMAND...: whether this build of pushproxy has the (sub)command.
has() { "$BIN" "$@" --help >/dev/null 2>&1; }

# pending FILE COMMAND: the slot of a transcript whose command is not in this build yet.
pending() {
  printf '(This transcript appears when `pushproxy %s` is part of the build; run\nscripts/book-transcripts.sh again then.)\n' "$2" >"$RAW/$1.txt"
}


# The local cloud and the proxy listen on their default loopback ports, so that the commands in
# the book need no --cloud or --listen options.
CLOUD=http://127.0.0.1:8480
PROXY=http://127.0.0.1:8470
BACKGROUND=()

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# background 'COMMAND LINE' URL: starts a server as `COMMAND LINE &`, waits until URL answers,
# and records the command with what it printed until then.
background() {
  local log=$WORK/background.$$.${#BACKGROUND[@]}.log
  if [ -s "$RAW/$SCENE.txt" ]; then echo >>"$RAW/$SCENE.txt"; fi
  printf '$ %s &\n' "$1" >>"$RAW/$SCENE.txt"
  # `bash -c` runs a single command in place, so the process id is the server's own.
  bash -c "$1" </dev/null >"$log" 2>&1 &
  BACKGROUND+=("$!")
  local tries=0
  until curl -fs "$2" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ] || ! kill -0 "$!" 2>/dev/null; then
      echo "book-transcripts: scene $SCENE: \`$1\` did not start:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  cat "$log" >>"$RAW/$SCENE.txt"
  end_line
}

# wait_for 'COMMAND LINE': retries a command quietly until it succeeds (at most 30 s).
wait_for() {
  local tries=0
  until (eval "$1") >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then
      echo "book-transcripts: scene $SCENE: \`$1\` never succeeded" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# A scene with the local cloud running and the organisation registered with it.
cloud_scene() {
  scene "$1"
  bash -c 'pushproxy cloud serve' </dev/null >cloud.log 2>&1 &
  BACKGROUND+=("$!")
  wait_for "curl -fs $CLOUD/healthz"
  quiet "pushproxy cloud register --domain $DOMAIN"
}

# badge_is N: the test device's badge in the local cloud is N.
badge_is() {
  pushproxy cloud devices --organization "$DOMAIN" | awk -v n="$1" '$1 == "'"$PHONE"'" && $3 == n {found=1} END {exit !found}'
}

PHONE=5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b
APP=com.microsoft.exchange.mowa

cloud_scenes() {
  local port
  for port in 8480 8470; do
    if ! port_free "$port"; then
      echo "book-transcripts: port $port is in use; the transcripts of the local cloud need it" >&2
      exit 1
    fi
  done

  # The local cloud itself.
  scene cloud-serve
  background 'PUSHPROXY_LOG=info pushproxy cloud serve' "$CLOUD/healthz"
  next_transcript cloud-register
  show "pushproxy cloud register --domain $DOMAIN"
  next_transcript cloud-metadata
  show "curl -s '$CLOUD/metadata/json/1?realm=$DOMAIN' | jq '{realm, issuer, endpoints}'"
  stop_background

  # Steps 1 and 2 against the local cloud.
  cloud_scene setup-local
  show "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  show 'pushproxy auth-server show'
  stop_background

  # Step 3.
  cloud_scene credential-add
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  show "pushproxy credential add --organization $DOMAIN"
  show "pushproxy credential list --organization $DOMAIN"
  show "pushproxy credential add --organization $DOMAIN"
  stop_background

  # Step 4.
  cloud_scene push-proxy-local
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  show "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  stop_background

  # Step 5 with the probe: before and after step 3.
  cloud_scene probe-no-credential
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  quiet "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  show 'pushproxy probe'
  stop_background

  cloud_scene probe-succeeded
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  quiet "pushproxy credential add --organization $DOMAIN"
  quiet "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  show 'pushproxy probe'
  show 'pushproxy probe --json'
  stop_background

  # Step 5 with a test mail: the proxy running, a device subscribed, mail arriving.
  cloud_scene test-mail
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  quiet "pushproxy credential add --organization $DOMAIN"
  quiet "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  background 'pushproxy proxy serve --window-ms 500' "$PROXY/healthz"
  show "curl -s -X POST $PROXY/subscriptions -H 'content-type: application/json' \\
    -d '{\"mailbox\":\"alice@$DOMAIN\",\"appId\":\"$APP\",\"deviceId\":\"$PHONE\"}'"
  wait_for 'badge_is 0'
  show "pushproxy cloud devices --organization $DOMAIN"
  show "curl -s -X POST $PROXY/mailboxes/alice@$DOMAIN/messages -H 'content-type: application/json' \\
    -d '{\"count\":3}'"
  wait_for 'badge_is 3'
  show "pushproxy cloud devices --organization $DOMAIN"
  show "curl -s -X POST $PROXY/mailboxes/alice@$DOMAIN/read -H 'content-type: application/json' \\
    -d '{\"count\":3}'"
  wait_for 'badge_is 0'
  show "pushproxy cloud devices --organization $DOMAIN"
  show "pushproxy cloud devices --organization $DOMAIN --json | jq '.[0].apns'"

  # The same proxy's health, state and metrics.
  scene proxy-metrics
  show "curl -s $PROXY/healthz"
  show "curl -s $PROXY/state | jq ."
  show "curl -s $PROXY/metrics | grep -E '^# (HELP|TYPE)' | grep HELP"
  show "curl -s $PROXY/metrics | grep -E '^pushproxy_(published|failed|queue|subscriptions)'"
  stop_background

  # Failures only a cloud can show.
  cloud_scene probe-cloud-failures
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  quiet "pushproxy credential add --organization $DOMAIN"
  quiet "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  show "pushproxy auth-server ensure --tenant-domain contoso.com --authority $CLOUD"
  show 'pushproxy probe'
  show "pushproxy auth-server ensure --tenant-domain $DOMAIN --authority $CLOUD"
  show "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOSED/PushNotifications > /dev/null"
  show 'pushproxy probe'
  show "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications > /dev/null"
  show 'mv pushproxy-data/keys pushproxy-data/keys.moved'
  show 'pushproxy probe'
  stop_background

  # A certificate rotation with the cloud answering throughout.
  cloud_scene rotation-live
  quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOUD"
  quiet "pushproxy credential add --organization $DOMAIN"
  quiet "pushproxy push-proxy enable --organization $DOMAIN --uri $CLOUD/PushNotifications"
  OLD=$(pushproxy auth-config show --json | sed -n 's/.*"CurrentCertificateThumbprint": "\([0-9A-F]*\)".*/\1/p')
  show "pushproxy certificate new --domain $DOMAIN"
  NEW=$(pushproxy certificate list --json | sed -n 's/.*"thumbprint": "\([0-9A-F]*\)".*/\1/p' | grep -v "$OLD")
  show "pushproxy certificate export $NEW --out next.cer"
  show "pushproxy credential add --organization $DOMAIN --cert next.cer"
  show "pushproxy auth-config set --next-certificate-thumbprint $NEW --next-effective-date 2030-01-01T00:00:00Z"
  show 'pushproxy probe'
  show 'pushproxy auth-config set --publish-certificate'
  show 'pushproxy probe'
  show "pushproxy credential list --organization $DOMAIN"
  show 'pushproxy auth-config set --clear-previous-certificate'
  show "pushproxy credential remove --organization $DOMAIN $OLD"
  show 'pushproxy probe'
  stop_background
}

# ---------------------------------------------------------------------------------------------
echo "==> CLI transcripts" >&2

scene version
show 'pushproxy --version'

# Step 1 and 2: setup, twice.
scene setup
show "pushproxy setup --tenant-domain $DOMAIN"
scene setup-again
quiet "pushproxy setup --tenant-domain $DOMAIN"
show "pushproxy setup --tenant-domain $DOMAIN"

scene data-dir
quiet "pushproxy setup --tenant-domain $DOMAIN"
show 'find pushproxy-data -type f | sort'
show 'stat -c "%A %n" pushproxy-data/keys/*'

scene certificate-list
quiet "pushproxy setup --tenant-domain $DOMAIN"
show 'pushproxy certificate list'
show "pushproxy certificate list --organization $DOMAIN"

scene certificate-show
quiet "pushproxy setup --tenant-domain $DOMAIN"
TP=$(pushproxy auth-config show --json | sed -n 's/.*"CurrentCertificateThumbprint": "\([0-9A-F]*\)".*/\1/p')
show "pushproxy certificate show $TP"

scene certificate-export
quiet "pushproxy setup --tenant-domain $DOMAIN"
show 'pushproxy certificate export'
show 'pushproxy certificate export'
show 'openssl x509 -inform DER -in OAuthCert.cer -noout -subject -enddate'
show 'pushproxy certificate show --file OAuthCert.cer'

scene certificate-new
show "pushproxy certificate new --domain $DOMAIN"

scene certificate-import
quiet "openssl req -x509 -newkey rsa:2048 -nodes -days 730 -keyout web.key -out web.crt \
  -subj /CN=$DOMAIN -addext subjectAltName=DNS:$DOMAIN"
quiet "openssl req -x509 -newkey rsa:2048 -nodes -days 730 -keyout oauth.key -out oauth.crt \
  -subj /CN=$DOMAIN -addext subjectAltName=DNS:$DOMAIN"
show 'pushproxy certificate import --cert web.crt --key web.key --friendly-name "IIS" --services IIS'
show 'pushproxy certificate import --cert oauth.crt --key oauth.key --friendly-name "Fabrikam OAuth"'
show "pushproxy certificate list --organization $DOMAIN"
show "pushproxy setup --tenant-domain $DOMAIN"
show 'pushproxy certificate import --cert oauth.crt --key web.key'

scene auth-config
quiet "pushproxy setup --tenant-domain $DOMAIN"
show 'pushproxy auth-config show'
show 'pushproxy auth-config show --json'

scene config-files
quiet "pushproxy setup --tenant-domain $DOMAIN"
quiet "pushproxy push-proxy enable --organization $DOMAIN"
show 'cat pushproxy-data/config.json'
show "jq '.data.certificates[].certificate |= .[0:27] + \"...\"' pushproxy-data/certificates.json"

scene auth-server
show 'pushproxy auth-server show'
show "pushproxy auth-server ensure --tenant-domain $DOMAIN"
show "pushproxy auth-server ensure --tenant-domain $DOMAIN"
show "pushproxy auth-server ensure --tenant-domain $DOMAIN --authority http://127.0.0.1:8471"
show 'pushproxy auth-server show'

scene push-proxy
quiet "pushproxy setup --tenant-domain $DOMAIN"
show "pushproxy push-proxy enable --organization $DOMAIN"
scene push-proxy-again
quiet "pushproxy push-proxy enable --organization $DOMAIN"
show "pushproxy push-proxy enable --organization $DOMAIN --uri http://127.0.0.1:8471/PushNotifications"
show 'pushproxy push-proxy disable'
show 'pushproxy push-proxy show --json'

scene rotation
quiet "pushproxy setup --tenant-domain $DOMAIN"
OLD=$(pushproxy auth-config show --json | sed -n 's/.*"CurrentCertificateThumbprint": "\([0-9A-F]*\)".*/\1/p')
NEW=$(pushproxy certificate new --domain $DOMAIN --json | sed -n 's/.*"thumbprint": "\([0-9A-F]*\)".*/\1/p')
show "pushproxy certificate list"
show "pushproxy auth-config set --next-certificate-thumbprint $NEW --next-effective-date 2030-01-01T00:00:00Z"
show 'pushproxy auth-config show'
show 'pushproxy auth-config set --publish-certificate'
show 'pushproxy auth-config show'
show 'pushproxy auth-config set --clear-previous-certificate'
: "$OLD"

scene token-mint
quiet "pushproxy setup --tenant-domain $DOMAIN"
show "pushproxy token mint --realm $TENANT > token.txt"
show 'pushproxy token decode - < token.txt'
show "pushproxy token verify - --cert pushproxy-data/OAuthConfig/OAuthCert.cer \\
    --audience $EXCHANGE/outlook.office365.com@$TENANT \\
    --issuer $EXCHANGE@$TENANT < token.txt"
show "pushproxy token verify - --cert pushproxy-data/OAuthConfig/OAuthCert.cer \\
    --audience $EXCHANGE/outlook.office365.com@00000000-0000-4000-8000-000000000001 \\
    --issuer $EXCHANGE@$TENANT < token.txt"

scene token-kinds
quiet "pushproxy setup --tenant-domain $DOMAIN"
show "pushproxy token mint --kind assertion --realm $TENANT --host accounts.accesscontrol.windows.net --json"
show "pushproxy token mint --kind outer --realm $TENANT --claim smtp=alice@$DOMAIN --claim upn=alice@$DOMAIN > outer.txt"
show 'pushproxy token decode - < outer.txt'
show "pushproxy token mint --realm $TENANT --lifetime 86400"

# Step 5: the probe, failing at each step it can fail at without a cloud.
scene probe-no-setup
show 'pushproxy probe'
scene probe-no-proxy
quiet "pushproxy setup --tenant-domain $DOMAIN"
show 'pushproxy probe'
scene probe-unreachable
quiet "pushproxy setup --tenant-domain $DOMAIN --authority $CLOSED"
quiet "pushproxy push-proxy enable --organization $DOMAIN"
show 'pushproxy probe'
show 'pushproxy probe --json'

# The local cloud, and everything that needs it.
if has cloud serve && has credential add; then
  echo "==> transcripts against the local cloud" >&2
  cloud_scenes
else
  for slot in cloud-serve cloud-register cloud-metadata setup-local credential-add push-proxy-local probe-no-credential \
    probe-succeeded test-mail proxy-metrics probe-cloud-failures rotation-live; do
    pending "$slot" "cloud serve"
  done
fi
if has demo; then
  scene demo
  show 'pushproxy demo'
else
  pending demo demo
fi

# ---------------------------------------------------------------------------------------------
echo "==> the output of the Rust listings" >&2
for example in tokens token_exchange publish_batch device_payloads coalescing; do
  # Listings take a fixed clock and a seeded generator: their output is shown unmasked.
  "$EXAMPLES/$example" >"$OUT/listing-$example.txt"
done

# ---------------------------------------------------------------------------------------------
echo "==> the command-line reference" >&2
# Every command and subcommand, found by walking `--help`, as one Markdown fragment.
reference() {
  local depth=$1
  shift
  local title="pushproxy${*:+ $*}"
  local hashes
  hashes=$(printf '%*s' "$depth" '' | tr ' ' '#')
  printf '%s `%s`\n\n```text\n' "$hashes" "$title"
  "$BIN" "$@" --help
  printf '```\n\n'
  local sub
  for sub in $("$BIN" "$@" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
    if [ "$sub" != help ]; then reference $((depth + 1)) "$@" "$sub"; fi
  done
}
reference 2 >"$RAW/cli-reference.md"

# ---------------------------------------------------------------------------------------------
cd "$ROOT"
for raw in "$RAW"/*; do
  python3 book/tools/mask-transcript.py --tmp "$WORK" <"$raw" >"$OUT/$(basename "$raw")"
done
echo "==> transcripts written to $OUT" >&2
