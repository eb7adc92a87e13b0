"""The embedded chain as a local service that Solana's own clients accept.

One `embedded_chain.Chain` serves every process on the machine, so separate
command-line invocations (an organisation creating a task, participants
staking, a ServerApp settling) share one chain. It answers as
``solana-test-validator`` does: JSON-RPC over HTTP on its port and the PubSub
websocket on the port + 1 (also on the RPC port, for clients that ask there),
slots and the Clock that follow wall time, CORS for browser clients, and
connections that wait their turn instead of being refused. It is the CLI's
``embedded`` cluster, as ``solana-test-validator`` is ``localnet``.

The default port is 8999 because a local validator takes 8899 (RPC), 8900
(PubSub) and 9900 (faucet); both can run side by side. With ``--state FILE``
the chain's accounts and clock are saved to FILE and restored on the next start
(`fl_app.chain.local_rpc_state`).

Run in the foreground with ``python -m fl_app.chain.local_rpc --port 8999``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType, TracebackType

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain.embedded import load_extension
from fl_app.chain.errors import ChainError
from fl_app.chain.local_rpc_clock import IDLE_S, TICK_S
from fl_app.chain.local_rpc_http import HOST, JsonRpcApp, bind_pair
from fl_app.chain.local_rpc_methods import SET_UNIX_TIMESTAMP, ChainMethods
from fl_app.chain.local_rpc_state import ChainStateError, StateWriter, restore, snapshot

__all__ = ["DEFAULT_PORT", "LocalChainServer", "main", "set_unix_timestamp"]

DEFAULT_PORT = 8999
_log = logging.getLogger(__name__)


class LocalChainServer:
    """An embedded chain served over JSON-RPC and PubSub on 127.0.0.1.

    Parameters
    ----------
    port : int
        RPC port (PubSub listens on the next one); 0 picks two free ones (see `url`).
    max_body_bytes : int
        Largest request body accepted; larger ones get HTTP 413.
    request_timeout_s : float
        Longest a request may wait for the chain.
    max_connections : int
        Requests handled at once; more wait their turn.
    state_file : Path or None
        Where the chain's state is saved and restored from; None keeps it in memory.

    Examples
    --------
    >>> with LocalChainServer() as server:  # doctest: +SKIP
    ...     transport = RpcTransport(server.url)
    """

    def __init__(
        self,
        port: int = 0,
        *,
        max_body_bytes: int = 1024 * 1024,
        request_timeout_s: float = 10.0,
        max_connections: int = 32,
        state_file: Path | None = None,
    ) -> None:
        self._module = module = load_extension()
        # Bind first: a taken port fails at once, before the chain's genesis.
        self._sockets = bind_pair(port)
        self._ports = tuple(sock.getsockname()[1] for sock in self._sockets)
        try:
            self._chain = module.Chain.paced()
            self.state_note, offset = self._restore(state_file)
        except BaseException:
            for sock in self._sockets:
                sock.close()
            raise
        self.program_id = Pubkey.from_bytes(module.Chain.program_id())
        self.methods = ChainMethods(
            self._chain, lock_timeout_s=request_timeout_s, clock_offset_s=offset
        )
        if self._restored:
            self.methods.accounts.remember(self._restored)
        self._writer: StateWriter | None = None
        if state_file is not None:
            self._writer = StateWriter(state_file, lambda: snapshot(self.methods, self._chain))
            self.methods.listeners.append(self._writer.changed)
        self._executor = ThreadPoolExecutor(max_connections, thread_name_prefix="chain-rpc")
        self._max_body_bytes = max_body_bytes
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None

    def _restore(self, state_file: Path | None) -> tuple[str, float]:
        self._restored: list[str] = []
        if state_file is None:
            return "kept in memory only", 0.0
        try:
            restored = restore(state_file, self._chain)
        except FileNotFoundError:
            return f"no saved state at {state_file}: starting a fresh chain", 0.0
        except (ChainStateError, OSError, self._module.ChainError) as err:
            if not isinstance(err, ChainStateError | OSError):
                self._chain = self._module.Chain.paced()  # it may hold part of the state
            kept = state_file.with_name(state_file.name + ".unreadable")
            state_file.replace(kept)
            return f"WARNING: {err}; starting a fresh chain (the file is kept as {kept})", 0.0
        self._restored = restored.accounts
        note = f"restored {len(restored.accounts)} accounts from {state_file}"
        return f"{note} at slot {restored.slot}", restored.clock_offset_s

    @property
    def url(self) -> str:
        """The RPC endpoint, e.g. ``http://127.0.0.1:8999``."""
        return f"http://{HOST}:{self._ports[0]}"

    @property
    def pubsub_url(self) -> str:
        """The PubSub websocket, e.g. ``ws://127.0.0.1:9000``."""
        return f"ws://{HOST}:{self._ports[1]}"

    def payer(self) -> Keypair:
        """The genesis account that funds airdrops."""
        return Keypair.from_bytes(self._chain.payer_keypair())

    def set_unix_timestamp(self, unix_timestamp: int) -> None:
        """Move the chain clock (tests and demos; same as `SET_UNIX_TIMESTAMP` over RPC)."""
        self.methods.call(SET_UNIX_TIMESTAMP, [unix_timestamp])
        if self._writer is not None:
            self._writer.changed()

    def start(self) -> LocalChainServer:
        """Serve from a background thread; returns self once it accepts connections."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="local-chain", daemon=True)
            self._thread.start()
            self._ready.wait()
        return self

    def stop(self) -> None:
        """Stop serving, save the state and release the ports (idempotent)."""
        if self._thread is not None and self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join()
            self._thread = None
        for sock in self._sockets:
            sock.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        app = JsonRpcApp(
            self.methods,
            loop=self._loop,
            executor=self._executor,
            max_body_bytes=self._max_body_bytes,
            on_change=self._writer.changed if self._writer is not None else None,
        )
        runner = await app.start(self._sockets)
        ticker = asyncio.create_task(self._tick(app))
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            ticker.cancel()
            await runner.cleanup()

    async def _tick(self, app: JsonRpcApp) -> None:
        assert self._loop is not None
        while True:
            await asyncio.sleep(TICK_S)
            idle = time.monotonic() - self.methods.last_request > IDLE_S
            if idle and not app.pubsub.connected():
                continue
            parent = self.methods.clock.slot()
            try:
                slot = await self._loop.run_in_executor(self._executor, self.methods.tick)
            except Exception:  # a busy chain ticks next time
                _log.debug("slot tick skipped", exc_info=True)
                continue
            if slot is not None:
                app.pubsub.slot_reached(parent, slot)

    def __enter__(self) -> LocalChainServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def set_unix_timestamp(url: str, unix_timestamp: int, *, timeout_s: float = 10.0) -> None:
    """Move the clock of the local chain service at ``url`` (not a Solana RPC method)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": SET_UNIX_TIMESTAMP, "params": [unix_timestamp]}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        answer = json.load(response)
    if "error" in answer:
        raise ChainError(f"{SET_UNIX_TIMESTAMP} failed: {answer['error']['message']}")


def main(argv: list[str] | None = None) -> int:
    """Serve the embedded chain in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m fl_app.chain.local_rpc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    parser.add_argument("--state", type=Path, help="file to save the chain's state to and restore")
    args = parser.parse_args(argv)
    try:
        server = LocalChainServer(args.port, state_file=args.state)
    except OSError as err:
        print(f"cannot listen on {HOST}:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with server:
        print(f"chain state: {server.state_note}", flush=True)
        print(f"local chain RPC: {server.url}", flush=True)
        print(f"local chain PubSub: {server.pubsub_url}", flush=True)
        print(f"staking program: {server.program_id}", flush=True)
        while not stopping.wait(timeout=1.0):
            pass
    print("local chain RPC stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
