#!/usr/bin/env bash
# Regenerate the staking IDL from source (anchor 0.29, no compile) and fail
# if it differs from the committed programs/staking/idl/staking.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FL_APP_CACHE:-$HOME/.cache/fl-app}
ANCHOR_BIN=$CACHE/anchor-cli-0.29.0/node_modules/@coral-xyz/anchor-cli/anchor
COMMITTED=$ROOT/programs/staking/idl/staking.json

if [ ! -x "$ANCHOR_BIN" ]; then
    echo "check_idl: anchor-cli 0.29.0 missing; run scripts/setup_chain.sh" >&2
    exit 1
fi
GENERATED=$(mktemp)
trap 'rm -f "$GENERATED"' EXIT
(cd "$ROOT" && "$ANCHOR_BIN" idl parse -f programs/staking/src/lib.rs -o "$GENERATED")
if ! diff -u "$COMMITTED" "$GENERATED"; then
    echo "check_idl: the committed IDL is stale; regenerate it with:" >&2
    echo "  $ANCHOR_BIN idl parse -f programs/staking/src/lib.rs -o programs/staking/idl/staking.json" >&2
    exit 1
fi
echo "check_idl: programs/staking/idl/staking.json is up to date"
