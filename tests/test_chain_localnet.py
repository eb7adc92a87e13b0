"""The local chain service as the localnet Solana's tools expect (never skipped).

What ``solana-test-validator`` gives clients and the embedded chain's service must too:
PubSub on the RPC port + 1, slots and a clock that follow wall time, blockhashes valid
until ``lastValidBlockHeight``, simulation, fees, v0 transactions, CORS, queued
connections, and state that survives a restart.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from websockets.sync.client import ClientConnection, connect

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.local_rpc import LocalChainServer, set_unix_timestamp
from fl_app.chain.local_rpc_clock import BLOCKHASH_VALID_BLOCKS
from tests.validator import scenarios

pytestmark = pytest.mark.filterwarnings("ignore:The `repr_ns` argument:DeprecationWarning")

_WAIT_S = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[LocalChainServer]:
    with LocalChainServer(max_connections=2) as running:
        yield running


def _call(url: str, method: str, *params: object) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=_WAIT_S) as response:
        return json.load(response)


def _result(url: str, method: str, *params: object) -> Any:
    answer = _call(url, method, *params)
    assert "error" not in answer, answer
    return answer["result"]


def _v0_transfer(
    server: LocalChainServer, payer: Keypair, to: Pubkey, blockhash: str | None = None
) -> VersionedTransaction:
    """A v0 transfer under ``blockhash`` (the latest one if None)."""
    if blockhash is None:
        blockhash = _result(server.url, "getLatestBlockhash")["value"]["blockhash"]
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=1_000_000))
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.from_string(blockhash))
    return VersionedTransaction(message, [payer])


def _encoded(transaction: VersionedTransaction) -> str:
    return base64.b64encode(bytes(transaction)).decode()


def _subscribe(socket: ClientConnection, method: str, *params: object) -> int:
    socket.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}))
    answer = json.loads(socket.recv(timeout=_WAIT_S))
    assert "result" in answer, answer
    return int(answer["result"])


def _notification(socket: ClientConnection, method: str) -> dict[str, Any]:
    return _notifications(socket, method)[method]


def _notifications(socket: ClientConnection, *methods: str) -> dict[str, dict[str, Any]]:
    """The first notification of each of ``methods``, in whatever order they come."""
    found: dict[str, dict[str, Any]] = {}
    while set(methods) - set(found):
        message = json.loads(socket.recv(timeout=_WAIT_S))
        if message.get("method") in methods:
            found.setdefault(message["method"], message["params"])
    return found


def test_pubsub_listens_on_the_next_port(server: LocalChainServer) -> None:
    rpc_port = int(server.url.rsplit(":", 1)[1])
    assert server.pubsub_url == f"ws://127.0.0.1:{rpc_port + 1}"


def test_slots_block_height_and_clock_follow_wall_time(server: LocalChainServer) -> None:
    before = _result(server.url, "getSlot")
    with connect(server.pubsub_url) as socket:
        number = _subscribe(socket, "slotSubscribe")
        notified = _notification(socket, "slotNotification")
    assert notified["subscription"] == number
    assert notified["result"]["slot"] > notified["result"]["parent"] >= before
    assert _result(server.url, "getBlockHeight") >= notified["result"]["slot"]
    # The clock is the wall clock (no test here moved it yet).
    assert abs(RpcTransport(server.url).unix_timestamp() - time.time()) <= 5


def test_blockhash_is_valid_until_its_last_valid_block_height(server: LocalChainServer) -> None:
    latest = _result(server.url, "getLatestBlockhash")["value"]
    height = _result(server.url, "getBlockHeight")
    assert height < latest["lastValidBlockHeight"] <= height + BLOCKHASH_VALID_BLOCKS
    valid = _result(server.url, "isBlockhashValid", latest["blockhash"])
    assert valid["value"] is True
    payer = server.payer()
    # Under the blockhash read above: a newer one could still be valid after the warp.
    stale = _v0_transfer(server, payer, Keypair().pubkey(), latest["blockhash"])
    with server.methods.locked():
        server.methods.clock.warp_to(latest["lastValidBlockHeight"] + 1)
    assert _result(server.url, "isBlockhashValid", latest["blockhash"])["value"] is False
    refused = _call(server.url, "sendTransaction", _encoded(stale), {"encoding": "base64"})
    assert refused["error"]["message"] == "Transaction simulation failed: Blockhash not found"
    fresh = _v0_transfer(server, payer, Keypair().pubkey())
    assert _call(server.url, "sendTransaction", _encoded(fresh), {"encoding": "base64"})["result"]


def test_a_blockhash_outlives_the_runtimes_second(server: LocalChainServer) -> None:
    # A bare embedded chain drops a blockhash after ~1.5 s; a client that signs,
    # asks a wallet to approve and then sends must still get through.
    payer = server.payer()
    tx = _v0_transfer(server, payer, Keypair().pubkey())
    height = _result(server.url, "getBlockHeight")
    with connect(server.pubsub_url) as socket:
        _subscribe(socket, "slotSubscribe")
        while _notification(socket, "slotNotification")["result"]["slot"] < height + 25:
            pass
    sent = _call(server.url, "sendTransaction", _encoded(tx), {"encoding": "base64"})
    assert sent.get("result") == str(tx.signatures[0]), sent


def test_v0_transaction_fee_simulation_send_and_history(server: LocalChainServer) -> None:
    payer, receiver = server.payer(), Keypair().pubkey()
    tx = _v0_transfer(server, payer, receiver)
    message = base64.b64encode(to_bytes_versioned(tx.message)).decode()
    fee = _result(server.url, "getFeeForMessage", message)["value"]
    assert fee == 5_000
    simulated = _result(server.url, "simulateTransaction", _encoded(tx), {"encoding": "base64"})
    assert simulated["value"]["err"] is None and simulated["value"]["logs"]
    assert _result(server.url, "getBalance", str(receiver))["value"] == 0  # nothing recorded
    signature = _result(server.url, "sendTransaction", _encoded(tx), {"encoding": "base64"})
    assert _result(server.url, "getBalance", str(receiver))["value"] == 1_000_000
    refused = _call(server.url, "getTransaction", signature)
    assert refused["error"]["code"] == -32015
    found = _result(server.url, "getTransaction", signature, {"maxSupportedTransactionVersion": 0})
    assert found["version"] == 0 and found["meta"]["fee"] == fee
    assert found["transaction"]["message"]["addressTableLookups"] == []


def test_simulation_replaces_a_stale_blockhash_and_checks_signatures_on_request(
    server: LocalChainServer,
) -> None:
    payer = server.payer()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6)
    )
    stale = VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.new_unique()), [payer]
    )
    failed = _result(server.url, "simulateTransaction", _encoded(stale), {"encoding": "base64"})
    assert failed["value"]["err"] == "BlockhashNotFound"
    replaced = _result(
        server.url,
        "simulateTransaction",
        _encoded(stale),
        {"encoding": "base64", "replaceRecentBlockhash": True},
    )
    assert replaced["value"]["err"] is None
    assert replaced["value"]["replacementBlockhash"]["lastValidBlockHeight"] > 0
    forged = bytearray(bytes(stale))
    forged[-2] ^= 1  # the transfer amount (the last byte counts address table lookups)
    checked = _call(
        server.url,
        "simulateTransaction",
        base64.b64encode(bytes(forged)).decode(),
        {"encoding": "base64", "sigVerify": True},
    )
    assert checked["error"]["code"] == -32003


def test_program_accounts_honour_data_slice_context_and_null_filters(
    server: LocalChainServer,
) -> None:
    chain = _scenario_chain(server)
    task = scenarios.create_task(chain)
    program = str(server.program_id)
    every = _result(server.url, "getProgramAccounts", program, {"filters": None})
    assert str(task.address) in [found["pubkey"] for found in every]
    sliced = _result(
        server.url,
        "getProgramAccounts",
        program,
        {"encoding": "base64", "dataSlice": {"offset": 0, "length": 8}, "withContext": True},
    )
    assert sliced["context"]["slot"] > 0
    for found in sliced["value"]:
        assert len(base64.b64decode(found["account"]["data"][0])) == 8


def test_cors_lets_a_browser_page_call_the_service(server: LocalChainServer) -> None:
    preflight = urllib.request.Request(
        server.url,
        method="OPTIONS",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,solana-client",
        },
    )
    with urllib.request.urlopen(preflight, timeout=_WAIT_S) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "solana-client" in response.headers["Access-Control-Allow-Headers"]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).encode()
    call = urllib.request.Request(
        server.url, data=body, headers={"Content-Type": "application/json", "Origin": "x"}
    )
    with urllib.request.urlopen(call, timeout=_WAIT_S) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_connections_beyond_the_pool_wait_their_turn(server: LocalChainServer) -> None:
    # The server handles 2 requests at once; 64 at the same time are all answered.
    start = threading.Barrier(64)

    def one(_: int) -> int:
        start.wait(timeout=_WAIT_S)
        return int(_result(server.url, "getSlot"))

    with ThreadPoolExecutor(64) as pool:
        slots = list(pool.map(one, range(64)))
    assert len(slots) == 64 and min(slots) >= 0


def test_subscriptions_notify_signatures_accounts_and_logs(server: LocalChainServer) -> None:
    payer, receiver = server.payer(), Keypair().pubkey()
    tx = _v0_transfer(server, payer, receiver)
    with connect(server.pubsub_url) as socket:
        account = _subscribe(socket, "accountSubscribe", str(receiver), {"encoding": "base64"})
        logs = _subscribe(socket, "logsSubscribe", {"mentions": [str(receiver)]})
        signature = _subscribe(socket, "signatureSubscribe", str(tx.signatures[0]))
        _result(server.url, "sendTransaction", _encoded(tx), {"encoding": "base64"})
        notified = _notifications(
            socket, "signatureNotification", "accountNotification", "logsNotification"
        )
        landed = notified["signatureNotification"]
        assert landed["subscription"] == signature and landed["result"]["value"]["err"] is None
        changed = notified["accountNotification"]
        assert changed["subscription"] == account
        assert changed["result"]["value"]["lamports"] == 1_000_000
        logged = notified["logsNotification"]
        assert logged["subscription"] == logs
        assert logged["result"]["value"]["signature"] == str(tx.signatures[0])
        # Subscribing to a signature that already landed is answered at once.
        late = _subscribe(socket, "signatureSubscribe", str(tx.signatures[0]))
        assert _notification(socket, "signatureNotification")["subscription"] == late
        for method, number in (("accountUnsubscribe", account), ("logsUnsubscribe", logs)):
            socket.send(
                json.dumps({"jsonrpc": "2.0", "id": 9, "method": method, "params": [number]})
            )
            assert json.loads(socket.recv(timeout=_WAIT_S))["result"] is True
        socket.send(
            json.dumps({"jsonrpc": "2.0", "id": 9, "method": "logsUnsubscribe", "params": [logs]})
        )
        assert json.loads(socket.recv(timeout=_WAIT_S))["error"]["code"] == -32602


def _scenario_chain(server: LocalChainServer) -> scenarios.Chain:
    transport = RpcTransport(server.url, timeout_s=_WAIT_S)
    return scenarios.Chain(
        client=StakingClient(transport),
        fund=transport.airdrop,
        wait_until=lambda unix_timestamp: set_unix_timestamp(server.url, unix_timestamp),
    )


@pytest.mark.slow
def test_deadlines_pass_by_waiting_and_anyone_can_expire_the_task(
    server: LocalChainServer,
) -> None:
    transport = RpcTransport(server.url, timeout_s=_WAIT_S)

    def wait_until(unix_timestamp: int) -> None:
        # Wall time moves the chain's clock: wait for slots until it has passed.
        limit = time.monotonic() + max(0, unix_timestamp - time.time()) + _WAIT_S
        with connect(server.pubsub_url) as socket:
            _subscribe(socket, "slotSubscribe")
            while transport.unix_timestamp() < unix_timestamp:
                assert time.monotonic() < limit, "the chain's clock stopped"
                _notification(socket, "slotNotification")

    chain = scenarios.Chain(
        client=StakingClient(transport), fund=transport.airdrop, wait_until=wait_until
    )
    scenarios.run_expire(chain)
