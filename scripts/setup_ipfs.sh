#!/usr/bin/env bash
# Install Kubo (the IPFS daemon) into ~/.cache/fl-app/bin from the Go module proxy.
#
# Idempotent: does nothing when the pinned version is already installed there.
# Kubo v0.40+ cannot be `go install`ed (its go.mod carries an exclude block), so the
# version is pinned to v0.39.0. Override the target with FL_APP_BIN.
set -euo pipefail

KUBO_VERSION="v0.39.0"
BIN_DIR="${FL_APP_BIN:-$HOME/.cache/fl-app/bin}"
IPFS_BIN="$BIN_DIR/ipfs"

if [[ -x "$IPFS_BIN" ]] && "$IPFS_BIN" version 2>/dev/null | grep -q "ipfs version ${KUBO_VERSION#v}\$"; then
    echo "kubo ${KUBO_VERSION} already installed at $IPFS_BIN"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is required to install kubo (https://go.dev/dl/)" >&2
    exit 1
fi

mkdir -p "$BIN_DIR"
echo "installing kubo ${KUBO_VERSION} into $BIN_DIR (this compiles from source and takes a while)"
# `go install ...@version` also asks the proxy for the module's version list (to report
# deprecations); some proxies refuse that list. Downloading the pinned module and
# building it as its own main module needs only the version itself, with kubo's own
# go.mod and go.sum, so the build is the same.
KUBO_DIR="$(cd /tmp && go mod download -json "github.com/ipfs/kubo@${KUBO_VERSION}" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$KUBO_DIR" || ! -f "$KUBO_DIR/go.mod" ]]; then
    echo "error: could not download github.com/ipfs/kubo@${KUBO_VERSION}" >&2
    exit 1
fi
# One package at a time by default: other builds may share the machine's cores.
# cockroachdb/swiss (a pebble dependency) gates its runtime hooks on Go < 1.26 unless
# built with the untested_go_version tag; the IPFS tests run the daemon built this way.
(cd "$KUBO_DIR" && GOBIN="$BIN_DIR" GOFLAGS="${GOFLAGS:--p=1} -mod=readonly" \
    go install -tags untested_go_version ./cmd/ipfs)
"$IPFS_BIN" version
