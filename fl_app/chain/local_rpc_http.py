"""HTTP and websocket front of the local chain service (aiohttp).

JSON-RPC 2.0 over ``POST /`` (single requests and batches), ``GET /health``, the PubSub
websocket on ``GET /`` with an upgrade, and CORS on everything so browser wallets and
dapps can call it. Chain work runs on a bounded thread pool: requests beyond its size
wait their turn (connections are never refused for load).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import hdrs, web

from fl_app.chain.local_rpc_encoding import RpcError
from fl_app.chain.local_rpc_methods import SET_UNIX_TIMESTAMP, ChainMethods
from fl_app.chain.local_rpc_pubsub import PubSub

__all__ = ["HOST", "JsonRpcApp", "bind_pair"]

HOST = "127.0.0.1"
_MAX_BATCH = 100
_BIND_ATTEMPTS = 50
_BACKLOG = 1024
_SHUTDOWN_S = 5.0
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Max-Age": "86400",
}
_log = logging.getLogger(__name__)


def bind_pair(port: int) -> tuple[socket.socket, socket.socket]:
    """Listening sockets on ``port`` (RPC) and ``port + 1`` (PubSub); 0 finds a free pair."""
    for _ in range(_BIND_ATTEMPTS if port == 0 else 1):
        rpc = _listen(port)
        try:
            return rpc, _listen(rpc.getsockname()[1] + 1)
        except OSError as err:
            rpc.close()
            if port != 0:
                raise OSError(err.errno, f"{err.strerror} (PubSub port {port + 1})") from err
    raise OSError(f"no two free neighbouring ports after {_BIND_ATTEMPTS} attempts")


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restarted service takes its port back while old connections are in TIME_WAIT
    # (on Linux this never lets two services listen on one port).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class JsonRpcApp:
    """The aiohttp application serving ``methods`` and their subscriptions.

    Parameters
    ----------
    methods : ChainMethods
        The chain's methods.
    loop : asyncio.AbstractEventLoop
        The running loop.
    executor : ThreadPoolExecutor
        Where chain work runs.
    max_body_bytes : int
        Largest request body accepted.
    on_change : Callable or None
        Called after the clock was moved (the state is saved then).
    """

    def __init__(
        self,
        methods: ChainMethods,
        *,
        loop: asyncio.AbstractEventLoop,
        executor: ThreadPoolExecutor,
        max_body_bytes: int,
        on_change: Callable[[], None] | None,
    ) -> None:
        self._methods = methods
        self._loop = loop
        self._executor = executor
        self._max_body_bytes = max_body_bytes
        self._on_change = on_change
        self.pubsub = PubSub(methods, loop)
        self.app = web.Application(client_max_size=max_body_bytes, middlewares=[_cors])
        self.app.router.add_route(hdrs.METH_OPTIONS, "/{tail:.*}", _preflight)
        self.app.router.add_get("/health", _health)
        self.app.router.add_get("/", self.pubsub.serve)
        self.app.router.add_post("/", self._post)

    async def start(self, sockets: tuple[socket.socket, ...]) -> web.AppRunner:
        """Serve on each of ``sockets``; returns the runner to clean up."""
        self.app.on_shutdown.append(self.pubsub.close_all)
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_S
        )
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        return runner

    async def _post(self, request: web.Request) -> web.Response:
        length = request.content_length
        if length is None:
            return _error_reply(411, -32600, "Content-Length required")
        if length > self._max_body_bytes:
            message = f"Request body exceeds {self._max_body_bytes} bytes"
            response = _error_reply(413, -32600, message)
            response.force_close()
            return response
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, ValueError):
            return _error_reply(200, -32700, "Parse error")
        if isinstance(body, list):
            if not body or len(body) > _MAX_BATCH:
                message = f"Invalid request: a batch holds 1 to {_MAX_BATCH} requests"
                return _error_reply(200, -32600, message)
            answers = [a for a in [await self._answer(r) for r in body] if a is not None]
            return _json(answers or None)
        return _json(await self._answer(body))

    async def _answer(self, request: object) -> dict[str, Any] | None:
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
            result = await self._loop.run_in_executor(
                self._executor, self._methods.call, method, params
            )
        except RpcError as err:
            answer = _error_response(request_id, err)
        except Exception:
            _log.exception("%s failed", method)
            answer = _error_response(request_id, RpcError(-32603, "Internal error"))
        else:
            answer = {"jsonrpc": "2.0", "result": result, "id": request_id}
            if method == SET_UNIX_TIMESTAMP and self._on_change is not None:
                self._on_change()
        return answer if "id" in request else None


@web.middleware
async def _cors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as err:
        err.headers.update(_CORS)
        raise
    if not response.prepared:
        response.headers.update(_CORS)
    return response


async def _preflight(request: web.Request) -> web.Response:
    asked = request.headers.get("Access-Control-Request-Headers", "Content-Type")
    return web.Response(status=204, headers={"Access-Control-Allow-Headers": asked})


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


def _json(answer: object) -> web.Response:
    if answer is None:
        return web.Response(status=204)
    return web.Response(body=json.dumps(answer).encode(), content_type="application/json")


def _error_reply(status: int, code: int, message: str) -> web.Response:
    body = json.dumps(_error_response(None, RpcError(code, message))).encode()
    return web.Response(status=status, body=body, content_type="application/json")


def _error_response(request_id: object, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": request_id}
