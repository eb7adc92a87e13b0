"""The embedded chain service as ``fl-app services start`` runs it, with ``getProgramAccounts``.

``fl_app.chain.local_rpc`` serves the embedded chain over Solana JSON-RPC, but the chain
cannot list its accounts, so ``getProgramAccounts`` (how clients find every Stake of a
task on a real cluster) is missing there. This wrapper remembers every address a
transaction or airdrop touched and answers ``getProgramAccounts`` from those, with the
standard ``dataSize`` and ``memcmp`` filters, by reading them through the service's own
``getMultipleAccounts``. Accounts are only ever created by transactions, so none is missed.

Run with ``python -m fl_app.commands.local_chain --port 8999``.
"""

from __future__ import annotations

import argparse
import base64
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from fl_app.chain.local_rpc import DEFAULT_PORT, LocalChainServer
from fl_app.chain.local_rpc_encoding import RpcError, b58decode
from fl_app.chain.local_rpc_params import transaction as decode_transaction

__all__ = ["main", "serve_program_accounts"]

_BATCH = 100


def serve_program_accounts(server: LocalChainServer) -> LocalChainServer:
    """Make ``server`` answer ``getProgramAccounts``; returns it."""
    methods = server.methods
    call: Callable[[str, list[Any]], object] = methods.call
    known: dict[str, None] = {}  # insertion-ordered set of base58 addresses
    lock = threading.Lock()

    def remember(addresses: list[str]) -> None:
        with lock:
            known.update(dict.fromkeys(addresses))

    def program_accounts(params: list[Any]) -> object:
        if not params or not isinstance(params[0], str):
            raise RpcError(-32602, "Invalid params: expected a program id")
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        program, filters = params[0], config.get("filters", [])
        with lock:
            addresses = list(known)
        found = []
        read_config = {"encoding": "base64"}
        for start in range(0, len(addresses), _BATCH):
            batch = addresses[start : start + _BATCH]
            answer = call("getMultipleAccounts", [batch, read_config])
            accounts = answer["value"]  # type: ignore[index]
            for address, account in zip(batch, accounts, strict=True):
                if account is None or account["owner"] != program:
                    continue
                data = base64.b64decode(account["data"][0])
                if all(_matches(data, f) for f in filters):
                    found.append((address, account, data))
        encoding = config.get("encoding", "base64")
        result = []
        for address, account, _ in found:
            if encoding != "base64":
                shown = call("getAccountInfo", [address, {"encoding": encoding}])
                account = shown["value"]  # type: ignore[index]
            result.append({"pubkey": address, "account": account})
        return result

    def call_with_listing(method: str, params: list[Any]) -> object:
        if method == "getProgramAccounts":
            return program_accounts(params)
        result = call(method, params)
        if method == "sendTransaction" and params:
            config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
            sent = decode_transaction(params[0], config.get("encoding", "base58"))
            remember([str(key) for key in sent.message.account_keys])
        elif method == "requestAirdrop" and params and isinstance(params[0], str):
            remember([params[0]])
        return result

    methods.call = call_with_listing  # type: ignore[method-assign]
    return server


def _matches(data: bytes, spec: Any) -> bool:
    if not isinstance(spec, dict):
        raise RpcError(-32602, "Invalid params: a filter must be an object")
    if "dataSize" in spec:
        return len(data) == spec["dataSize"]
    memcmp = spec.get("memcmp")
    if not isinstance(memcmp, dict):
        raise RpcError(-32602, "Invalid params: unknown filter")
    offset = int(memcmp.get("offset", 0))
    text = str(memcmp.get("bytes", ""))
    try:
        wanted = base64.b64decode(text) if memcmp.get("encoding") == "base64" else b58decode(text)
    except ValueError as err:
        raise RpcError(-32602, f"Invalid params: bad memcmp bytes: {err}") from None
    return data[offset : offset + len(wanted)] == wanted


def main(argv: list[str] | None = None) -> int:
    """Serve a fresh embedded chain in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m fl_app.commands.local_chain", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        server = serve_program_accounts(LocalChainServer(args.port))
    except OSError as err:
        print(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with server:
        print(f"local chain RPC: {server.url}", flush=True)
        print(f"staking program: {server.program_id}", flush=True)
        while not stopping.wait(timeout=1.0):
            pass
    print("local chain RPC stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
