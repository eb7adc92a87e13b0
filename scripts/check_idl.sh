#!/usr/bin/env bash
# The staking IDL the fl_app package ships (fl_app/chain/staking.json): the output of
# `anchor idl parse` (anchor 0.29, no compile) with the program id of `declare_id!` in
# its metadata. Fails if the committed file differs from what the sources give, or if
# Anchor.toml names another program id; `--write` regenerates the file instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FL_APP_CACHE:-$HOME/.cache/fl-app}
ANCHOR_BIN=$CACHE/anchor-cli-0.29.0/node_modules/@coral-xyz/anchor-cli/anchor
COMMITTED=fl_app/chain/staking.json

case "${1:-}" in
    "") WRITE=0 ;;
    --write) WRITE=1 ;;
    *) echo "usage: $0 [--write]" >&2; exit 2 ;;
esac
if [ ! -x "$ANCHOR_BIN" ]; then
    echo "check_idl: anchor-cli 0.29.0 missing; run scripts/setup_chain.sh" >&2
    exit 1
fi
PARSED=$(mktemp)
GENERATED=$(mktemp)
trap 'rm -f "$PARSED" "$GENERATED"' EXIT
cd "$ROOT"
"$ANCHOR_BIN" idl parse -f programs/staking/src/lib.rs -o "$PARSED"
python3 - "$PARSED" "$GENERATED" <<'PY'
import json
import re
import sys
import tomllib

parsed, generated = sys.argv[1:]
source = open("programs/staking/src/lib.rs").read()
declared = re.search(r'declare_id!\("(\w+)"\)', source)
if declared is None:
    sys.exit("check_idl: no declare_id! in programs/staking/src/lib.rs")
program_id = declared.group(1)
with open("Anchor.toml", "rb") as handle:
    listed = tomllib.load(handle)["programs"]["localnet"]["staking"]
if listed != program_id:
    sys.exit(f"check_idl: Anchor.toml names {listed}, declare_id! names {program_id}")
idl = json.load(open(parsed))
idl["metadata"] = {"address": program_id}
with open(generated, "w") as out:
    out.write(json.dumps(idl, indent=2, ensure_ascii=False) + "\n")
PY
if [ "$WRITE" = 1 ]; then
    cp "$GENERATED" "$COMMITTED"
    echo "check_idl: wrote $COMMITTED"
elif ! diff -u "$COMMITTED" "$GENERATED"; then
    echo "check_idl: $COMMITTED is stale; regenerate it with: bash scripts/check_idl.sh --write" >&2
    exit 1
fi
echo "check_idl: $COMMITTED is up to date"
