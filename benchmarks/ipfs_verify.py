"""Cost of verifying content locally versus moving it through the daemon.

    python benchmarks/ipfs_verify.py [--sizes-mb 1 10 100]

Prints, per size: local CID computation, daemon add (with pin), daemon cat, and the
verified fetch (cat + local CID), and writes ``results/ipfs_verify.{json,md}``. Needs
Kubo (scripts/setup_ipfs.sh); starts its own private daemon in a temporary repo.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from fl_app.ipfs.content import fetch_verified
from fl_app.ipfs.daemon import KuboDaemon
from fl_app.ipfs.unixfs import file_cid

T = TypeVar("T")


def _seconds(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Run the measurement, print one row per size, write results/ipfs_verify.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 10, 100])
    options = parser.parse_args()
    print(f"{'MB':>6} {'local cid s':>12} {'add s':>8} {'cat s':>8} {'verified s':>11}")
    rows = []
    with KuboDaemon() as daemon, daemon.client(timeout=120.0) as client:
        for size_mb in options.sizes_mb:
            data = os.urandom(int(size_mb * 1_000_000))
            local, cid = _seconds(partial(file_cid, data))
            add, _ = _seconds(partial(client.add_bytes, data, check_cid=False))
            cat, _ = _seconds(partial(client.cat, cid))
            verified, _ = _seconds(partial(fetch_verified, client, cid, what="benchmark"))
            print(f"{size_mb:>6g} {local:>12.3f} {add:>8.3f} {cat:>8.3f} {verified:>11.3f}")
            row = {"mb": size_mb, "local_cid_s": local, "add_s": add, "cat_s": cat}
            rows.append(row | {"verified_s": verified, "verified_vs_cat": verified / cat})
    _write(rows)


def _write(rows: list[dict[str, float]]) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "ipfs_verify.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Verifying a CID locally vs fetching through Kubo",
        "",
        "| MB | local CID (s) | add (s) | cat (s) | verified fetch (s) | verified / cat |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['mb']:g} | {r['local_cid_s']:.3f} | {r['add_s']:.3f} | {r['cat_s']:.3f} | "
            f"{r['verified_s']:.3f} | {r['verified_vs_cat']:.2f}x |"
            for r in rows
        ),
        "",
    ]
    (RESULTS_DIR / "ipfs_verify.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
