"""Solana's PubSub websocket for the local chain service.

The subscriptions web3.js and Anchor use: ``signatureSubscribe`` (how
``confirmTransaction`` and ``.rpc()`` learn a transaction landed), ``accountSubscribe``,
``logsSubscribe`` (Anchor's event listeners), ``slotSubscribe``, each with its
``*Unsubscribe``. Everything is final at once, so every commitment is notified at once;
a signature that already landed is notified right after subscribing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fl_app.chain import local_rpc_params as param
from fl_app.chain.local_rpc_encoding import RpcError
from fl_app.chain.local_rpc_methods import ChainMethods
from fl_app.chain.local_rpc_transactions import Committed

__all__ = ["PubSub"]

_log = logging.getLogger(__name__)
_KINDS = {
    "accountSubscribe": "account",
    "logsSubscribe": "logs",
    "signatureSubscribe": "signature",
    "slotSubscribe": "slot",
}


@dataclass
class _Subscription:
    kind: str
    socket: web.WebSocketResponse
    key: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


class PubSub:
    """Every websocket client's subscriptions, notified from chain events.

    Parameters
    ----------
    methods : ChainMethods
        The chain's methods; its committed transactions are notified.
    loop : asyncio.AbstractEventLoop
        The loop the websockets live on.
    """

    def __init__(self, methods: ChainMethods, loop: asyncio.AbstractEventLoop) -> None:
        self._methods = methods
        self._loop = loop
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._subscriptions: dict[int, _Subscription] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        methods.listeners.append(self._on_commit)

    def connected(self) -> bool:
        """Whether any websocket client is connected."""
        return bool(self._sockets)

    async def close_all(self, app: web.Application | None = None) -> None:
        """Close every websocket (the service is stopping)."""
        for socket in list(self._sockets):
            await socket.close()

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """Answer one websocket connection until it closes."""
        socket = web.WebSocketResponse(heartbeat=30.0)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    answer = self._answer(socket, message.data)
                    if answer is not None:
                        await socket.send_str(json.dumps(answer))
        finally:
            self._sockets.discard(socket)
            with self._lock:
                for number in [n for n, s in self._subscriptions.items() if s.socket is socket]:
                    del self._subscriptions[number]
        return socket

    def slot_reached(self, parent: int, slot: int) -> None:
        """Notify slot subscribers (call on the loop)."""
        value = {"parent": parent, "root": parent, "slot": slot}
        for number, subscription in self._matching("slot"):
            self._send(subscription.socket, "slotNotification", number, value)

    def _answer(self, socket: web.WebSocketResponse, text: str) -> dict[str, Any] | None:
        try:
            request = json.loads(text)
        except ValueError:
            return _error(None, RpcError(-32700, "Parse error"))
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, RpcError(-32600, "Invalid request"))
        if "id" not in request:
            return None  # a notification, e.g. web3.js's keep-alive "ping"
        params = request.get("params", [])
        try:
            if not isinstance(params, list):
                raise RpcError(-32602, "Invalid params: expected an array of parameters")
            result = self._call(socket, request["method"], params)
        except RpcError as err:
            return _error(request["id"], err)
        except (IndexError, KeyError, TypeError, ValueError) as err:
            return _error(request["id"], RpcError(-32602, f"Invalid params: {err}"))
        return {"jsonrpc": "2.0", "result": result, "id": request["id"]}

    def _call(self, socket: web.WebSocketResponse, method: str, params: list[Any]) -> object:
        subscribed = _KINDS.get(method.replace("Unsubscribe", "Subscribe"))
        if method.endswith("Unsubscribe") and subscribed is not None:
            number = param.integer(params[0], range(2**63), "subscription id")
            with self._lock:
                found = self._subscriptions.get(number)
                if found is None or found.kind != subscribed or found.socket is not socket:
                    raise RpcError(-32602, "Invalid subscription id.")
                del self._subscriptions[number]
            return True
        kind = _KINDS.get(method)
        if kind is None:
            raise RpcError(-32601, "Method not found")
        config = param.config(params, 0 if kind == "slot" else 1)
        key = None if kind == "slot" else self._key(kind, params[0])
        number = next(self._ids)
        with self._lock:
            self._subscriptions[number] = _Subscription(kind, socket, key, config)
        if kind == "signature" and key is not None:
            recorded = self._methods.transactions.recorded(param.signature(key))
            if recorded is not None:
                # Sent after the subscription id, which the caller answers first.
                self._loop.call_soon(self._signature_landed, number, recorded)
        return number

    @staticmethod
    def _key(kind: str, target: object) -> str | None:
        if kind == "account":
            return str(param.pubkey(target))
        if kind == "signature":
            return str(param.signature(target))
        if target in ("all", "allWithVotes"):
            return None
        mentions = target.get("mentions") if isinstance(target, dict) else None
        if not isinstance(mentions, list) or len(mentions) != 1:
            raise RpcError(-32602, "Invalid params: logs filter must mention exactly one address")
        return str(param.pubkey(mentions[0]))

    def _on_commit(self, committed: Committed) -> None:
        """Called under the chain's lock from a worker thread: gather, then send on the loop."""
        keys = set(committed.account_keys)
        signature = str(committed.signature)
        context = {"slot": committed.slot}
        logs = {"signature": signature, "err": committed.error, "logs": committed.logs}
        outgoing: list[tuple[web.WebSocketResponse, str, int, object]] = []
        for number, sub in self._matching("logs"):
            if sub.key is None or sub.key in keys:
                outgoing.append((sub.socket, "logsNotification", number, _ctx(context, logs)))
        for number, sub in self._matching("account"):
            if sub.key in keys:
                account = self._methods.account(str(sub.key), {"encoding": "base64", **sub.config})
                outgoing.append((sub.socket, "accountNotification", number, _ctx(context, account)))
        if any(sub.key == signature for _, sub in self._matching("signature")):
            self._loop.call_soon_threadsafe(self._signature_landed_all, committed)
        for item in outgoing:
            self._loop.call_soon_threadsafe(self._send, *item)

    def _signature_landed_all(self, committed: Committed) -> None:
        signature = str(committed.signature)
        for number, sub in self._matching("signature"):
            if sub.key == signature:
                self._signature_landed(number, committed)

    def _signature_landed(self, number: int, committed: Committed) -> None:
        with self._lock:
            subscription = self._subscriptions.pop(number, None)  # notified once, then gone
        if subscription is not None:
            value = _ctx({"slot": committed.slot}, {"err": committed.error})
            self._send(subscription.socket, "signatureNotification", number, value)

    def _matching(self, kind: str) -> list[tuple[int, _Subscription]]:
        with self._lock:
            return [(n, s) for n, s in self._subscriptions.items() if s.kind == kind]

    def _send(self, socket: web.WebSocketResponse, method: str, number: int, value: object) -> None:
        if socket.closed:
            return
        message = {
            "jsonrpc": "2.0",
            "method": method,
            "params": {"result": value, "subscription": number},
        }
        task = self._loop.create_task(socket.send_str(json.dumps(message)))
        task.add_done_callback(_log_failure)


def _ctx(context: dict[str, Any], value: object) -> dict[str, Any]:
    return {"context": context, "value": value}


def _error(request_id: object, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": request_id}


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("a notification was not delivered: %s", task.exception())
