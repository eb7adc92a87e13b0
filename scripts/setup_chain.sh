#!/usr/bin/env bash
# Set up the chain tooling: the anchor CLI 0.29.0 (IDL generation, from npm),
# the Python chain dependencies, and the embedded_chain extension built from
# this checkout into the project venv. Idempotent: each step is skipped when
# already up to date.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FL_APP_CACHE:-$HOME/.cache/fl-app}
VENV=${FL_APP_VENV:-$CACHE/venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/target}
ANCHOR_VERSION=0.29.0
ANCHOR_DIR=$CACHE/anchor-cli-$ANCHOR_VERSION
ANCHOR_BIN=$ANCHOR_DIR/node_modules/@coral-xyz/anchor-cli/anchor

if ! "$ANCHOR_BIN" --version 2>/dev/null | grep -qx "anchor-cli $ANCHOR_VERSION"; then
    echo "setup_chain: installing anchor-cli $ANCHOR_VERSION into $ANCHOR_DIR"
    mkdir -p "$ANCHOR_DIR"
    npm install --prefix "$ANCHOR_DIR" --no-audit --no-fund "@coral-xyz/anchor-cli@$ANCHOR_VERSION" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup_chain: no venv at $VENV; create it first (python3.11 -m venv $VENV)" >&2
    exit 1
fi
if ! "$VENV/bin/python" -c "import anchorpy, solana, solders, maturin" 2>/dev/null; then
    echo "setup_chain: installing Python chain dependencies"
    "$VENV/bin/pip" install --quiet "anchorpy==0.21.0" "solana==0.36.6" "solders==0.26.0" "maturin>=1.8,<2"
fi

# Rebuild the extension only when its sources (or the program it embeds) changed. The
# stamp lives in the venv: each checkout has its own venv and its own extension build.
STAMP=$VENV/embedded_chain.stamp
SOURCES_HASH=$(cd "$ROOT" && find Cargo.toml Cargo.lock programs/staking/Cargo.toml programs/staking/src \
        programs/staking/harness native/embedded_chain -type f \
        -not -path '*/target/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SOURCES_HASH" ] \
        && "$VENV/bin/python" -c "import embedded_chain" 2>/dev/null; then
    echo "setup_chain: embedded_chain up to date"
    exit 0
fi
echo "setup_chain: building embedded_chain (first build compiles the Solana runtime: minutes)"
VIRTUAL_ENV=$VENV PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" develop --quiet \
    -m "$ROOT/native/embedded_chain/Cargo.toml" -j 2
"$VENV/bin/python" -c "import embedded_chain; embedded_chain.Chain()"
echo "$SOURCES_HASH" > "$STAMP"
echo "setup_chain: embedded_chain installed into $VENV"
