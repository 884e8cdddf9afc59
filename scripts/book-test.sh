#!/usr/bin/env bash
# Checks the book: the committed transcripts are what the programs print now, the book builds
# with mdBook, and every include, internal link and #anchor resolves.
#
#   bash scripts/book-test.sh
#
# Installs mdBook (a pinned version, built from crates.io with cargo) when it is absent. After a
# change that alters a program's output, regenerate the transcripts with
# `bash scripts/book-transcripts.sh` and commit them with the change.
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.5.4

step() { printf '\n==> %s\n' "$*"; }

step "tools"
need_apt() {
  # need_apt <command> <debian package>
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "installing $2 (for $1)"
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"
  fi
}
# python3 runs the mask and the link check; the transcripts run openssl, curl and jq.
need_apt python3 python3
need_apt openssl openssl
need_apt curl curl
need_apt jq jq
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$(mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  echo "installing mdbook $MDBOOK_VERSION (a few minutes)"
  cargo install --locked --quiet mdbook --version "$MDBOOK_VERSION"
fi
mdbook --version

WORK=$(mktemp -d -t pushproxy-book-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

step "the transcripts are what the programs print now"
bash scripts/book-transcripts.sh "$WORK/transcripts"
if ! diff -ru book/src/transcripts "$WORK/transcripts"; then
  echo
  echo "The committed transcripts (-) differ from what the programs print now (+)."
  echo "If the change is intended, run: bash scripts/book-transcripts.sh, and commit book/src/transcripts."
  exit 1
fi

step "the book builds"
mdbook build book --dest-dir "$WORK/html" 2>&1 | tee "$WORK/mdbook.log"
if grep -E '(ERROR|WARN)' "$WORK/mdbook.log" >/dev/null; then
  echo "mdbook reported errors or warnings (above)."
  exit 1
fi

step "every include, internal link and anchor resolves"
python3 book/tools/check-book.py book "$WORK/html"

step "the book is fine"
