#!/usr/bin/env bash
# Build the threshold CKKS engine (native/threshold_ckks, Go + Lattigo v6 from the Go
# module proxy) as a C shared library under ~/.cache/fl-app/lib.
#
# Idempotent: the library's file name carries a digest of the Go sources, so a checkout
# finds the build of exactly its sources (strategy/threshold/engine.py computes the same
# digest) and the build runs again only when they change. libthreshold_ckks.so links to
# the last build, for the package installed from wheels, which carries no sources.
# Override the target directory with FL_APP_LIB.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/native/threshold_ckks
LIB_DIR=${FL_APP_LIB:-$HOME/.cache/fl-app/lib}

# The digest: SHA-256 of go.mod, go.sum and every .go file, concatenated in byte order
# of their names; the first 16 hex digits name the build.
DIGEST=$(cd "$SRC" && LC_ALL=C ls go.mod go.sum *.go | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
LIB=$LIB_DIR/libthreshold_ckks-$DIGEST.so

# Point libthreshold_ckks.so at this build, replacing the link in one rename.
link_latest() {
    ln -sfn "$(basename "$LIB")" "$LIB_DIR/.latest-$$"
    mv -fT "$LIB_DIR/.latest-$$" "$LIB_DIR/libthreshold_ckks.so"
}

if [[ -f "$LIB" ]]; then
    link_latest
    echo "threshold CKKS engine up to date at $LIB"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is required to build the threshold CKKS engine (https://go.dev/dl/)" >&2
    exit 1
fi
mkdir -p "$LIB_DIR"
echo "building the threshold CKKS engine into $LIB"
# One package at a time by default: other builds may share the machine's cores. A
# temporary name and a rename keep a concurrent reader from loading a partial file.
TMP=$(mktemp "$LIB_DIR/.build-XXXXXX.so")
trap 'rm -f "$TMP" "${TMP%.so}.h"' EXIT
(cd "$SRC" && GOFLAGS="${GOFLAGS:--p=1} -mod=readonly" CGO_ENABLED=1 \
    go build -buildmode=c-shared -trimpath -o "$TMP" .)
mv "$TMP" "$LIB"
link_latest
echo "built $LIB"
