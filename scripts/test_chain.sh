#!/usr/bin/env bash
# Lint and test the staking program, the embedded chain and the settlement
# client: rustfmt, clippy (warnings are errors), the program's Rust tests on
# the native runtime, and the Python chain tests on the embedded chain.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FL_APP_CACHE:-$HOME/.cache/fl-app}
VENV=${FL_APP_VENV:-$CACHE/venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/target}
export PYO3_PYTHON=${PYO3_PYTHON:-$VENV/bin/python}
# solana-program-test logs every instruction unless told otherwise.
export RUST_LOG=${RUST_LOG:-off}
cd "$ROOT"

bash scripts/setup_chain.sh
bash scripts/check_idl.sh
cargo fmt --all -- --check
cargo clippy -j 2 --workspace --all-targets -- -D warnings
cargo test -j 2 -p staking
"$VENV/bin/python" -m pytest -q tests/test_chain_*.py tests/validator
