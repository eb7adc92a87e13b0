#!/usr/bin/env bash
# Install the JavaScript clients the local chain's acceptance test drives it with
# (tests/js: @solana/web3.js and @coral-xyz/anchor, the versions pinned in its lock
# file), from the npm registry. Idempotent: skipped when node_modules matches the lock.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT=$ROOT/tests/js

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: Node.js (node and npm, 18 or newer) is needed for tests/js" >&2
    exit 1
fi
STAMP=$PROJECT/node_modules/.installed-lock.sha256
LOCK_HASH=$(sha256sum "$PROJECT/package-lock.json" | cut -d' ' -f1)
if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$LOCK_HASH" ]]; then
    echo "setup_js: tests/js is up to date"
    exit 0
fi
echo "setup_js: installing tests/js from its lock file"
npm ci --prefix "$PROJECT" --no-audit --no-fund --ignore-scripts >/dev/null
echo "$LOCK_HASH" > "$STAMP"
echo "setup_js: installed $(node -p "require('$PROJECT/node_modules/@solana/web3.js/package.json').version") web3.js, $(node -p "require('$PROJECT/node_modules/@coral-xyz/anchor/package.json').version") anchor"
