"""The local chain service: the embedded chain over Solana JSON-RPC (never skipped)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.keypair import Keypair
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from solders.transaction_status import (
    InstructionErrorCustom,
    TransactionErrorInstructionError,
)

from fl_app.chain import RpcTransport, SendResult, StakingClient, Transport
from fl_app.chain.base58 import b58decode, b58encode
from fl_app.chain.errors import error_name
from fl_app.chain.local_rpc import LocalChainServer, set_unix_timestamp
from tests.test_chain_embedded import _ed25519_instruction
from tests.validator import scenarios

pytestmark = pytest.mark.filterwarnings("ignore:The `repr_ns` argument:DeprecationWarning")

_EXIT_TIMEOUT_S = 15.0
_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[LocalChainServer]:
    with LocalChainServer(max_body_bytes=64 * 1024) as running:
        yield running


@pytest.fixture
def chain(server: LocalChainServer) -> scenarios.Chain:
    transport = RpcTransport(server.url, timeout_s=10.0)
    return scenarios.Chain(
        client=StakingClient(transport),
        fund=transport.airdrop,
        wait_until=lambda unix_timestamp: set_unix_timestamp(server.url, unix_timestamp),
    )


def _post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _call(url: str, method: str, *params: object) -> Any:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
    return _post(url, json.dumps(body).encode())[1]


class _CapturingTransport:
    """Reads through ``inner`` but keeps signed transactions instead of sending them."""

    def __init__(self, inner: Transport) -> None:
        self.sent: list[bytes] = []
        self._inner = inner

    def send_transaction(self, transaction: bytes) -> SendResult:
        self.sent.append(transaction)
        return SendResult(signature=Transaction.from_bytes(transaction).signatures[0], ok=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _transfer(client: Client, payer: Keypair, lamports: int) -> Transaction:
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=lamports)
    )
    blockhash = client.get_latest_blockhash().value.blockhash
    return Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], blockhash)


# -- solana-py against the service ----------------------------------------------


def test_preflight_failure_carries_program_error_and_charges_nothing(
    chain: scenarios.Chain, server: LocalChainServer
) -> None:
    task = scenarios.create_task(chain)
    participant = scenarios.deposit(chain, task, scenarios.SOL)
    client = Client(server.url)
    captured = _CapturingTransport(chain.client.transport)
    StakingClient(captured).reward_claim(participant, task.address)
    tx = Transaction.from_bytes(captured.sent[0])
    before = client.get_balance(participant.pubkey()).value
    with pytest.raises(RPCException) as caught:
        client.send_raw_transaction(bytes(tx), opts=TxOpts(skip_preflight=False))
    failure = caught.value.args[0]
    assert isinstance(failure, SendTransactionPreflightFailureMessage)
    assert "custom program error" in failure.message
    err = failure.data.err
    assert isinstance(err, TransactionErrorInstructionError)
    assert isinstance(err.err, InstructionErrorCustom)
    assert error_name(err.err.code) == "StakingError.NotSettled"
    assert any("NotSettled" in line for line in failure.data.logs or [])
    assert client.get_balance(participant.pubkey()).value == before
    assert client.get_signature_statuses([tx.signatures[0]]).value == [None]


def test_transaction_is_reported_in_every_encoding(server: LocalChainServer) -> None:
    client = Client(server.url)
    payer = server.payer()
    tx = _transfer(client, payer, 1_000_000)
    signature = client.send_raw_transaction(bytes(tx)).value
    assert signature == tx.signatures[0]
    status = client.get_signature_statuses([signature]).value[0]
    assert status is not None and status.err is None
    for encoding in ("json", "base64", "base58"):
        found = client.get_transaction(
            signature, encoding=encoding, max_supported_transaction_version=0
        ).value
        assert found is not None
        meta = found.transaction.meta
        assert meta is not None and meta.err is None and meta.fee == 5_000
        assert meta.pre_balances[1] == 0 and meta.post_balances[1] == 1_000_000
        assert meta.pre_balances[0] - meta.post_balances[0] == 1_000_000 + meta.fee
    assert client.get_transaction(Signature.default()).value is None


def test_accounts_balances_and_cluster_facts(server: LocalChainServer) -> None:
    client = Client(server.url)
    address = Keypair().pubkey()
    client.request_airdrop(address, 2_000_000)
    client.request_airdrop(address, 2_000_000)  # identical request: credited again
    assert client.get_balance(address).value == 4_000_000
    program = client.get_account_info(server.program_id).value
    assert program is not None and program.executable
    accounts = client.get_multiple_accounts([address, Keypair().pubkey()]).value
    assert accounts[0] is not None and accounts[0].lamports == 4_000_000 and accounts[1] is None
    assert client.get_minimum_balance_for_rent_exemption(100).value > 0
    assert client.get_slot().value >= 0
    assert _call(server.url, "getHealth")["result"] == "ok"
    assert client.get_version().value.solana_core.startswith("1.18")


def test_base58_transaction_is_accepted_and_bad_signature_refused(
    server: LocalChainServer,
) -> None:
    client = Client(server.url)
    tx = _transfer(client, server.payer(), 1_000_000)
    sent = _call(server.url, "sendTransaction", b58encode(bytes(tx)), {"encoding": "base58"})
    assert sent["result"] == str(tx.signatures[0])
    forged = bytearray(bytes(_transfer(client, server.payer(), 1_000_000)))
    forged[-1] ^= 1  # the last byte of the transfer amount: the signature no longer matches
    refused = _call(
        server.url, "sendTransaction", base64.b64encode(forged).decode(), {"encoding": "base64"}
    )
    assert refused["error"]["code"] == -32003


def test_ed25519_signature_over_another_message_is_refused_by_the_service(
    server: LocalChainServer,
) -> None:
    # The runtime's Ed25519 check is what makes a forged attestation worthless, with or
    # without preflight.
    client = Client(server.url)
    payer, attestor = server.payer(), Keypair()
    for tamper in (True, False):
        for skip in (False, True):
            ix = _ed25519_instruction(attestor, f"round {skip}".encode(), tamper=tamper)
            blockhash = client.get_latest_blockhash().value.blockhash
            tx = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], blockhash)
            config = {"encoding": "base64", "skipPreflight": skip}
            sent = _call(
                server.url, "sendTransaction", base64.b64encode(bytes(tx)).decode(), config
            )
            if tamper:
                assert sent["error"]["code"] == -32002, sent
                assert "InvalidAccountIndex" in sent["error"]["message"]
            else:
                assert sent["result"] == str(tx.signatures[0])


def test_clock_moves_through_the_custom_method(server: LocalChainServer) -> None:
    transport = RpcTransport(server.url)
    later = transport.unix_timestamp() + 3_600
    set_unix_timestamp(server.url, later)
    assert transport.unix_timestamp() == later
    assert _call(server.url, "flApp_setUnixTimestamp", "soon")["error"]["code"] == -32602


def test_base58_round_trips() -> None:
    for data in (b"", b"\0\0\1", bytes(range(40)), b"\xff" * 64):
        assert b58decode(b58encode(data)) == data
    assert b58encode(b"\0\0\1") == "112"


# -- malformed input ---------------------------------------------------------------


def test_malformed_requests_get_json_rpc_errors(server: LocalChainServer) -> None:
    assert _post(server.url, b"{not json")[1]["error"]["code"] == -32700
    assert _post(server.url, b"\xff\xfe")[1]["error"]["code"] == -32700
    assert _call(server.url, "getBlockProduction")["error"] == {
        "code": -32601,
        "message": "Method not found",
    }
    no_version = json.dumps({"id": 1, "method": "getSlot"}).encode()
    assert _post(server.url, no_version)[1]["error"]["code"] == -32600
    assert _post(server.url, b"[]")[1]["error"]["code"] == -32600
    assert _post(server.url, b"42")[1]["error"]["code"] == -32600
    assert _call(server.url, "getBalance", "not-an-address")["error"]["code"] == -32602
    assert _call(server.url, "getBalance")["error"]["code"] == -32602
    assert _call(server.url, "sendTransaction", "%%%", {"encoding": "base64"})["error"]["code"] == (
        -32602
    )
    assert _call(server.url, "getMinimumBalanceForRentExemption", -1)["error"]["code"] == -32602
    named = {"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": {"a": 1}}
    assert _post(server.url, json.dumps(named).encode())[1]["error"]["code"] == -32602


def test_oversized_body_is_refused_unread(server: LocalChainServer) -> None:
    # Only the declared length matters: the body is never read, so none is sent.
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(64 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 413
    assert answer["error"]["code"] == -32600 and "exceeds" in answer["error"]["message"]
    assert _call(server.url, "getHealth")["result"] == "ok"  # still serving


def test_batch_answers_each_request_in_order(server: LocalChainServer) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        {"jsonrpc": "2.0", "method": "getHealth"},  # a notification: no answer
    ]
    answers = _post(server.url, json.dumps(batch).encode())[1]
    assert [a["id"] for a in answers] == [1, 2]
    assert answers[0]["result"] == "ok" and answers[1]["error"]["code"] == -32601


# -- a second process ----------------------------------------------------------------


def _free_port() -> int:
    with LocalChainServer() as probe:
        return int(probe.url.rsplit(":", 1)[1])


def test_a_second_process_shares_one_chain() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fl_app.chain.local_rpc", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while (line := process.stdout.readline()) and url not in line:
            assert time.monotonic() < deadline, "service did not print its URL"
        assert url in line, process.stderr.read() if process.stderr else ""
        assert f"ws://127.0.0.1:{port + 1}" in process.stdout.readline()
        assert "staking program" in process.stdout.readline()

        organisation = RpcTransport(url)
        chain = scenarios.Chain(
            client=StakingClient(organisation),
            fund=organisation.airdrop,
            wait_until=lambda t: set_unix_timestamp(url, t),
        )
        task = scenarios.create_task(chain)
        reader = StakingClient(RpcTransport(url))
        seen = reader.task(task.address)
        assert seen.reward_pool == task.params.reward_pool
        assert seen.template_cid == scenarios.CID

        taken = subprocess.run(
            [sys.executable, "-m", "fl_app.chain.local_rpc", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=_EXIT_TIMEOUT_S,
        )
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=_EXIT_TIMEOUT_S)
    assert returncode == 0
    assert "stopped" in (process.stdout.read() if process.stdout else "")


def test_transaction_the_runtime_cannot_run_is_refused_with_the_reason(
    server: LocalChainServer,
) -> None:
    payer = server.payer()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1)
    )
    stale = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], Hash.new_unique())
    result = RpcTransport(server.url).send_transaction(bytes(stale))
    assert not result.ok
    assert result.error == "Transaction simulation failed: Blockhash not found"
