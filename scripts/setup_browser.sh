#!/usr/bin/env bash
# Install Debian's Chromium for the dashboard's browser test (tests/test_dashboard.py).
#
# Idempotent: does nothing when /usr/bin/chromium exists. Runs `apt-get update` only
# when the package is not known to apt yet. Needs root (or sudo) to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install Chromium so that $CHROMIUM exists" >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "error: installing chromium needs root; run this script as root" >&2
        exit 1
    fi
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
    "${SUDO[@]}" apt-get update
fi
"${SUDO[@]}" apt-get install --yes --no-install-recommends chromium

if [[ ! -x "$CHROMIUM" ]]; then
    echo "error: the chromium package did not install $CHROMIUM" >&2
    exit 1
fi
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
