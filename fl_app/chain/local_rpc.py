"""The embedded chain as a local service: Solana's JSON-RPC over HTTP on loopback.

One `embedded_chain.Chain` serves every process on the machine, so separate
command-line invocations (an organisation creating a task, participants
staking, a ServerApp settling) share one chain; `RpcTransport` and solana-py
talk to it exactly as to ``solana-test-validator``. It is the CLI's
``embedded`` cluster, as ``solana-test-validator`` is ``localnet``.

The default port is 8999 because a local validator takes 8899 (RPC), 8900
(PubSub) and 9900 (faucet); both can run side by side. Only HTTP JSON-RPC is
served (no PubSub websocket). State lives in memory and is gone when the
service stops; there is no ledger to restart from.

Run in the foreground with ``python -m fl_app.chain.local_rpc --port 8999``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain.embedded import load_extension
from fl_app.chain.errors import ChainError
from fl_app.chain.local_rpc_encoding import RpcError
from fl_app.chain.local_rpc_methods import SET_UNIX_TIMESTAMP, ChainMethods

__all__ = ["DEFAULT_PORT", "LocalChainServer", "main", "set_unix_timestamp"]

DEFAULT_PORT = 8999
_HOST = "127.0.0.1"
_MAX_BATCH = 100
_log = logging.getLogger(__name__)


class LocalChainServer:
    """A fresh embedded chain served over JSON-RPC on 127.0.0.1.

    Parameters
    ----------
    port : int
        TCP port; 0 picks a free one (see `url`).
    max_body_bytes : int
        Largest request body accepted; larger ones get HTTP 413.
    request_timeout_s : float
        Longest a request may wait for its body or for the chain.
    max_connections : int
        Requests handled at once; more are answered with HTTP 503.

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
    ) -> None:
        module = load_extension()

        class Handler(_JsonRpcHandler):
            pass

        Handler.max_body_bytes = max_body_bytes
        Handler.timeout = request_timeout_s
        # Bind first: a taken port fails at once, before the chain's genesis.
        self._httpd = _BoundedServer((_HOST, port), Handler, max_connections=max_connections)
        try:
            self._chain = module.Chain()
        except BaseException:
            self._httpd.server_close()
            raise
        self.program_id = Pubkey.from_bytes(module.Chain.program_id())
        self.methods = Handler.methods = ChainMethods(self._chain, lock_timeout_s=request_timeout_s)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The RPC endpoint, e.g. ``http://127.0.0.1:8999``."""
        return f"http://{_HOST}:{self._httpd.server_address[1]}"

    def payer(self) -> Keypair:
        """The genesis account that funds airdrops."""
        return Keypair.from_bytes(self._chain.payer_keypair())

    def set_unix_timestamp(self, unix_timestamp: int) -> None:
        """Move the chain clock (tests and demos; same as `SET_UNIX_TIMESTAMP` over RPC)."""
        self.methods.call(SET_UNIX_TIMESTAMP, [unix_timestamp])

    def start(self) -> LocalChainServer:
        """Serve from a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="local-chain-rpc", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

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


class _BoundedServer(ThreadingHTTPServer):
    """A threading HTTP server that refuses work beyond ``max_connections``."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, max_connections: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _JsonRpcHandler(BaseHTTPRequestHandler):
    """JSON-RPC 2.0 over HTTP POST; ``GET /health`` answers ``ok`` like a validator."""

    methods: ChainMethods
    max_body_bytes: int
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus
    # delayed ACKs add ~40 ms to every request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(HTTPStatus.OK, b"ok", "text/plain")
        else:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, b"", "text/plain")

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._reply_error(HTTPStatus.LENGTH_REQUIRED, -32600, "Content-Length required")
            return
        if int(length) > self.max_body_bytes:
            self.close_connection = True
            message = f"Request body exceeds {self.max_body_bytes} bytes"
            self._reply_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, -32600, message)
            return
        try:
            request = json.loads(self.rfile.read(int(length)))
        except (UnicodeDecodeError, ValueError):
            self._reply_error(HTTPStatus.OK, -32700, "Parse error")
            return
        if isinstance(request, list):
            if not request or len(request) > _MAX_BATCH:
                message = f"Invalid request: a batch holds 1 to {_MAX_BATCH} requests"
                self._reply_error(HTTPStatus.OK, -32600, message)
                return
            answers = [a for a in (self._answer(r) for r in request) if a is not None]
            self._reply_json(answers or None)
        else:
            self._reply_json(self._answer(request))

    def _answer(self, request: object) -> dict[str, Any] | None:
        """The response object for one request, None for a notification."""
        if not isinstance(request, dict):
            return _error_response(None, RpcError(-32600, "Invalid request"))
        request_id = request.get("id")
        if not isinstance(request_id, str | int | None) or isinstance(request_id, bool):
            return _error_response(None, RpcError(-32600, "Invalid request: bad id"))
        method, params = request.get("method"), request.get("params", [])
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error_response(request_id, RpcError(-32600, "Invalid request"))
        try:
            if not isinstance(params, list):
                raise RpcError(-32602, "Invalid params: expected an array of parameters")
            result = self.methods.call(method, params)
        except RpcError as err:
            answer = _error_response(request_id, err)
        except Exception:
            _log.exception("%s failed", method)
            answer = _error_response(request_id, RpcError(-32603, "Internal error"))
        else:
            answer = {"jsonrpc": "2.0", "result": result, "id": request_id}
        return answer if "id" in request else None

    def _reply_error(self, status: HTTPStatus, code: int, message: str) -> None:
        body = json.dumps(_error_response(None, RpcError(code, message))).encode()
        self._reply(status, body, "application/json")

    def _reply_json(self, answer: object) -> None:
        if answer is None:
            self._reply(HTTPStatus.NO_CONTENT, b"", "application/json")
        else:
            self._reply(HTTPStatus.OK, json.dumps(answer).encode(), "application/json")

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)


def _error_response(request_id: object, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": request_id}


def main(argv: list[str] | None = None) -> int:
    """Serve a fresh embedded chain in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m fl_app.chain.local_rpc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        server = LocalChainServer(args.port)
    except OSError as err:
        print(f"cannot listen on {_HOST}:{args.port}: {err.strerror}", file=sys.stderr)
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
