#!/usr/bin/env bash
# Set up the chain tooling: the anchor CLI 0.29.0 (IDL generation, from npm) and the
# embedded_chain extension, built into a wheel and installed into the venv. The wheel is kept under ~/.cache/fl-app/wheels, named by the hash of the Rust
# sources, so every checkout and venv with the same sources reuses it. Idempotent: each
# step is skipped when already up to date.
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

# The sources of the extension and of the program it embeds. The stamp lives in the venv:
# each venv has its own install.
STAMP=$VENV/embedded_chain.stamp
SOURCES_HASH=$(cd "$ROOT" && find Cargo.toml Cargo.lock programs/staking/Cargo.toml programs/staking/src \
        programs/staking/harness native/embedded_chain -type f \
        -not -path '*/target/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SOURCES_HASH" ] \
        && "$VENV/bin/python" -c "import embedded_chain" 2>/dev/null; then
    echo "setup_chain: embedded_chain up to date"
    exit 0
fi

WHEEL_DIR=$CACHE/wheels/embedded_chain-$SOURCES_HASH
if ! compgen -G "$WHEEL_DIR/embedded_chain-*.whl" >/dev/null; then
    if ! "$VENV/bin/python" -c "import maturin" 2>/dev/null; then
        "$VENV/bin/pip" install --quiet "maturin>=1.8,<2"
    fi
    # The dev profile: the workspace's release profile (fat LTO, one codegen unit, meant
    # for the on-chain program) takes over 40 minutes on two cores for the Solana runtime.
    echo "setup_chain: building the embedded_chain wheel (the first build compiles the" \
        "Solana runtime: minutes)"
    mkdir -p "$CACHE/wheels"
    BUILD_DIR=$(mktemp -d "$CACHE/wheels/.build-XXXXXX")
    trap 'rm -rf "$BUILD_DIR"' EXIT
    started=$(date +%s)
    PYO3_PYTHON=${PYO3_PYTHON:-$VENV/bin/python} "$VENV/bin/maturin" build --profile dev --quiet \
        -m "$ROOT/native/embedded_chain/Cargo.toml" -i "$VENV/bin/python" -o "$BUILD_DIR" -j 2
    # Renamed into place only once complete, so a failed build leaves no wheel behind.
    mv -T "$BUILD_DIR" "$WHEEL_DIR"
    trap - EXIT
    echo "setup_chain: built $(basename "$WHEEL_DIR"/embedded_chain-*.whl)" \
        "in $(( $(date +%s) - started )) s"
fi
"$VENV/bin/pip" install --quiet --force-reinstall --no-deps "$WHEEL_DIR"/embedded_chain-*.whl
"$VENV/bin/python" -c "import embedded_chain; embedded_chain.Chain()"
echo "$SOURCES_HASH" > "$STAMP"
echo "setup_chain: embedded_chain installed into $VENV from $WHEEL_DIR"
