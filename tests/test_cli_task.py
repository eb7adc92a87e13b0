"""The organisation's and participants' commands against a real chain service and Kubo.

``keys create``, ``task create | status | rounds | attest | finalize | expire``,
``stake``, ``claim`` and ``client fetch``: each one's success and its main failure, with
the message; and an organisation that alters what the key holder signed.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import RpcTransport, StakingClient
from fl_app.chain.attestations import final_attestation, round_attestation, signed_by
from fl_app.chain.local_rpc import LocalChainServer
from fl_app.chain.local_rpc_methods import SET_UNIX_TIMESTAMP
from fl_app.commands.task_view import account_space
from fl_app.deployment import free_port
from fl_app.ipfs import KuboDaemon, bundle_cid, file_cid, pack_bundle, pin_manifest
from fl_app.keys import KeyFiles
from strategy import RoundManifest, UpdateCommitment
from strategy.attestation import scores_message
from strategy.contribution import ContributionLedger, RoundScalars
from strategy.threshold import engine
from tests.cli_fixtures import (
    LAMPORTS_PER_SOL,
    FlApp,
    address_of,
    chain_server,
    fl_app,
    isolated_home,
    new_wallet,
)
from tests.ipfs_fixtures import TEMPLATE_DIR

__all__ = ["chain_server", "fl_app", "isolated_home"]  # fixtures used here


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """One set of task keys (the key holder's ceremony is tested on its own below)."""
    return KeyFiles.create(tmp_path_factory.mktemp("keys"), scoring=True)


@dataclass
class World:
    """A chain, an IPFS daemon, an organisation wallet and a created task."""

    chain: LocalChainServer
    ipfs: str
    org: Path
    key_holder: str
    key_holder_keypair: Path
    context: Path
    tmp: Path

    def common(self) -> list[str]:
        return ["-u", self.chain.url, "--ipfs", self.ipfs]

    def wallet(self, name: str, sol: int = 0) -> Path:
        return new_wallet(self.tmp, name, self.chain, sol)

    def create_task(self, fl_app: FlApp, *extra: str) -> str:
        run = fl_app(
            "task", "create", "-k", str(self.org), *self.common(),
            "--pool", "10", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
            "--key-holder", self.key_holder, "--context", str(self.context), "--quiet", *extra,
        )  # fmt: skip
        assert run.code == 0, run.stderr
        return run.stdout.strip()


@pytest.fixture
def world(
    chain_server: LocalChainServer, kubo_daemon: KuboDaemon, key_files: KeyFiles, tmp_path: Path
) -> World:
    org = new_wallet(tmp_path, "org", chain_server, sol=50)
    return World(
        chain_server,
        kubo_daemon.api_url,
        org,
        key_files.key_holder_address,
        key_files.wallet,
        key_files.public_context,
        tmp_path,
    )


def _client(world: World) -> StakingClient:
    return StakingClient(RpcTransport(world.chain.url))


def _keypair(path: Path) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(path.read_text())))


# -- keys ---------------------------------------------------------------------------


def test_keys_create_seals_the_secret_to_the_wallet(
    fl_app: FlApp, tmp_path: Path, chain_server: LocalChainServer
) -> None:
    wallet = new_wallet(tmp_path, "holder", chain_server)
    run = fl_app("keys", "create", "-k", str(wallet), "--dir", str(tmp_path / "k"))
    assert run.code == 0, run.stderr
    files = KeyFiles(tmp_path / "k")
    assert files.key_holder_address == address_of(wallet)
    assert f"key holder: {address_of(wallet)}" in run.stdout
    assert f"public context: {files.public_context}" in run.stdout
    assert files.load_key_holder(min_inputs=3) is not None  # opens with that wallet
    again = fl_app("keys", "create", "-k", str(wallet), "--dir", str(tmp_path / "k"))
    assert again.code == 2
    assert again.error.startswith(f"{tmp_path / 'k'} already holds task keys: use another --dir")


# -- task create --------------------------------------------------------------------


def test_task_create_pins_template_and_context_and_funds_the_pool(
    fl_app: FlApp, world: World
) -> None:
    run = fl_app(
        "task", "create", "-k", str(world.org), *world.common(), "--json",
        "--pool", "10.5", "--min-stake", "1", "--rounds", "3", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context), "--task-id", "7",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    result = run.json()
    task = _client(world).task(Pubkey.from_string(result["task"]))
    assert task.task_id == 7 and task.reward_pool == 10_500_000_000
    assert task.template_cid == bundle_cid(TEMPLATE_DIR) == result["template_cid"]
    fab_hash = hashlib.sha256(pack_bundle(TEMPLATE_DIR)).hexdigest()
    assert result["template_sha256"] == fab_hash
    assert task.he_context_cid == file_cid(world.context.read_bytes())
    assert str(task.key_holder) == world.key_holder
    rent = world.chain.methods.call("getMinimumBalanceForRentExemption", [account_space("Task")])
    assert _client(world).balance(task.address) == task.reward_pool + rent
    same_id = fl_app(
        "task", "create", "-k", str(world.org), *world.common(),
        "--pool", "1", "--min-stake", "1", "--rounds", "3", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context), "--task-id", "7",
    )  # fmt: skip
    assert same_id.error.endswith(f"exists already ({task.address}): choose another --task-id")


def test_task_create_without_funds_says_how_much_is_missing(fl_app: FlApp, world: World) -> None:
    poor = world.wallet("poor", sol=1)
    run = fl_app(
        "task", "create", "-k", str(poor), *world.common(),
        "--pool", "10", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context),
    )  # fmt: skip
    assert run.code == 2
    assert run.error.startswith(f"wallet {address_of(poor)} has 1 SOL, task create needs 10.00")
    assert run.error.endswith(f"SOL: fund it (fl-app airdrop 10 -k {poor} on embedded/localnet)")


def test_task_create_without_ipfs_names_the_command_that_starts_it(
    fl_app: FlApp, world: World
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    run = fl_app(
        "task", "create", "-k", str(world.org), "-u", world.chain.url, "--ipfs", dead,
        "--pool", "1", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context),
    )  # fmt: skip
    assert run.error == (
        f"no IPFS daemon at {dead}: start it with fl-app services start (or pass --ipfs URL)"
    )
    no_state = fl_app(
        "task", "create", "-k", str(world.org), "-u", world.chain.url,
        "--pool", "1", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context),
    )  # fmt: skip
    assert no_state.error == (
        "no IPFS daemon: start one with fl-app services start (or pass --ipfs URL)"
    )


def test_task_create_refuses_a_template_with_a_wallet_inside(
    fl_app: FlApp, world: World, template_copy: Path
) -> None:
    wallet = template_copy / "org.json"
    shutil.copy(world.org, wallet)
    run = fl_app(
        "task", "create", "-k", str(world.org), *world.common(),
        "--pool", "1", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        "--key-holder", world.key_holder, "--context", str(world.context),
        "--template", str(template_copy),
    )  # fmt: skip
    assert run.code == 2
    assert run.error == (
        f"{wallet} is a wallet keypair; secrets never go into a bundle, move it out"
    )


def test_task_create_refuses_the_organisation_as_key_holder(fl_app: FlApp, world: World) -> None:
    run = fl_app(
        "task", "create", "-k", str(world.org), *world.common(),
        "--pool", "1", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        "--key-holder", address_of(world.org), "--context", str(world.context),
    )  # fmt: skip
    assert run.error.startswith("the key holder must not be the organisation's own wallet")


def test_a_committee_task_is_drawn_from_its_stakers_after_the_join_window(
    fl_app: FlApp, world: World
) -> None:
    create = [
        "task", "create", "-k", str(world.org), *world.common(),
        "--pool", "10", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
    ]  # fmt: skip
    refusals = {
        ("--committee", "4/2"): "--committee 4/2: T must be a strict majority of N",
        ("--committee", "5/3"): "--committee 5/3: T must be a strict majority of N (N/2 < T <= "
        "N, T >= 2) and N at most the 4 participants",
        ("--committee", "three"): "--committee takes N/T, e.g. 5/3; got 'three'",
        ("--key-holder", world.key_holder): "--key-holder and --context go together",
    }
    for options, error in refusals.items():
        refused = fl_app(*create, *options)
        assert refused.code == 2 and refused.error.startswith(error), refused.error
    assert _client(world).balance(Pubkey.from_string(address_of(world.org))) == 50 * 10**9
    created = fl_app(*create, "--committee", "3/2", "--json").json()
    task = created["task"]
    assert created["committee"] == {"size": 3, "threshold": 2} and created["key_holder"] is None
    stakers = [world.wallet(name, sol=5) for name in ("alice", "bob", "carol", "dave")]
    for wallet in stakers:
        assert fl_app("stake", task, "1", "-k", str(wallet), "-u", world.chain.url).code == 0
    early = fl_app("task", "draw", task, "-k", str(world.org), "-u", world.chain.url)
    assert early.code == 2 and early.error.startswith(f"task {task} takes stakes until ")
    deadline = _client(world).task(Pubkey.from_string(task)).join_deadline
    _set_chain_time(world, deadline + 1)
    # Anyone may draw: here a staker does.
    drawn = fl_app("task", "draw", task, "-k", str(stakers[0]), "-u", world.chain.url, "--json")
    members = drawn.json()["members"]
    assert len(set(members)) == 3 and set(members) <= {address_of(w) for w in stakers}
    status = fl_app("task", "status", task, "-u", world.chain.url, "--json").json()
    assert status["committee"] == {"size": 3, "threshold": 2, "drawn": True, "members": members}
    assert status["key_holder"] is None
    again = fl_app("task", "draw", task, "-k", str(world.org), "-u", world.chain.url, "--json")
    assert again.json()["members"] == members


def test_a_committee_task_without_the_threshold_engine_fails_in_one_line(
    fl_app: FlApp, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = world.tmp / "libthreshold_ckks.so"
    monkeypatch.setenv(engine.LIBRARY_ENV, str(missing))
    # The engine loads once per process: forget it here and after, so others load it again.
    engine.parameters.cache_clear()
    engine._library.cache_clear()
    try:
        run = fl_app(
            "task", "create", "-k", str(world.org), *world.common(),
            "--pool", "1", "--min-stake", "1", "--rounds", "2", "--max-participants", "4",
        )  # fmt: skip
    finally:
        engine.parameters.cache_clear()
        engine._library.cache_clear()
    assert run.code == 2
    assert run.error.startswith(f"threshold CKKS engine not built at {missing}; run `make setup`")


def _set_chain_time(world: World, unix_timestamp: int) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": SET_UNIX_TIMESTAMP, "params": [unix_timestamp]}
    assert "error" not in httpx.post(world.chain.url, json=request).json()


# -- status, stake ------------------------------------------------------------------


def test_stake_then_status_lists_the_participants(fl_app: FlApp, world: World) -> None:
    task = world.create_task(fl_app)
    alice, bob = world.wallet("alice", sol=5), world.wallet("bob", sol=5)
    run = fl_app("stake", task, "1.5", "-k", str(alice), "-u", world.chain.url)
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"staked 1.5 SOL on task {task} from {address_of(alice)}"
    assert fl_app("stake", task, "1", "-k", str(bob), "-u", world.chain.url).code == 0
    status = fl_app("task", "status", task, "-u", world.chain.url)
    assert status.code == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "state:            Open" in lines
    assert "reward pool:      10 SOL" in lines
    assert "stakes held:      2.5 SOL (minimum stake 1 SOL)" in lines
    assert "participants:     2 of 4, 0 contributed" in lines
    fab_hash = hashlib.sha256(pack_bundle(TEMPLATE_DIR)).hexdigest()
    assert f"template SHA-256: {fab_hash}" in lines
    assert any(line.startswith(f"  {address_of(alice)}  stake 1.5 SOL") for line in lines)
    as_json = fl_app("task", "status", task, "-u", world.chain.url, "--json").json()
    assert {s["participant"] for s in as_json["stakes"]} == {address_of(alice), address_of(bob)}


def test_stake_below_minimum_names_the_minimum(fl_app: FlApp, world: World) -> None:
    task = world.create_task(fl_app)
    alice = world.wallet("alice", sol=5)
    run = fl_app("stake", task, "0.5", "-k", str(alice), "-u", world.chain.url)
    assert run.code == 2
    assert run.error == (
        f"stake of 0.5 SOL is below task {task}'s minimum of 1 SOL: stake at least 1 SOL"
    )


def test_program_refusals_are_explained(fl_app: FlApp, world: World) -> None:
    task = world.create_task(fl_app)
    run = fl_app("stake", task, "1", "-k", str(world.org), "-u", world.chain.url)
    assert run.error == (
        f"wallet {address_of(world.org)} created task {task} and cannot stake on it: "
        "stake with a participant's wallet (-k)"
    )
    alice = world.wallet("alice", sol=5)
    assert fl_app("stake", task, "1", "-k", str(alice), "-u", world.chain.url).code == 0
    twice = fl_app("stake", task, "1", "-k", str(alice), "-u", world.chain.url)
    assert twice.error.startswith(f"wallet {address_of(alice)} has already staked on task {task}")


def test_unknown_task_is_reported(fl_app: FlApp, world: World) -> None:
    nowhere = str(Keypair().pubkey())
    run = fl_app("task", "status", nowhere, "-u", world.chain.url)
    assert run.code == 2
    assert run.error == (
        f"no task at {nowhere} on {world.chain.url}: check the address and the cluster (--url)"
    )
    assert fl_app("task", "status", "not-an-address").error == (
        "task 'not-an-address' is not a Solana address (base58)"
    )


# -- client fetch -------------------------------------------------------------------


def test_client_fetch_unpacks_the_verified_template(
    fl_app: FlApp, world: World, tmp_path: Path
) -> None:
    task = world.create_task(fl_app)
    run = fl_app("client", "fetch", task, "--dest", str(tmp_path / "c"), *world.common())
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"verified client template {bundle_cid(TEMPLATE_DIR)}"
    assert (tmp_path / "c" / "client.py").read_bytes() == (TEMPLATE_DIR / "client.py").read_bytes()


class _LyingDaemon(BaseHTTPRequestHandler):
    """A Kubo RPC look-alike that answers every request with the wrong bytes."""

    def do_POST(self) -> None:
        body = b"print('not the template you were promised')\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lying_ipfs() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _LyingDaemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_client_fetch_refuses_a_template_that_does_not_match_its_cid(
    fl_app: FlApp, world: World, tmp_path: Path, lying_ipfs: str
) -> None:
    task = world.create_task(fl_app)
    dest = tmp_path / "c"
    run = fl_app("client", "fetch", task, "--dest", str(dest), "-u", world.chain.url,
                 "--ipfs", lying_ipfs)  # fmt: skip
    assert run.code == 2
    assert run.error.startswith(f"client template refused: expected CID {bundle_cid(TEMPLATE_DIR)}")
    assert run.error.endswith("do not run or use this content")
    assert not dest.exists() or not any(dest.iterdir())


# -- rounds, finalize, claim, expire ------------------------------------------------


def _record_rounds(
    world: World,
    task: str,
    scalars: list[dict[str, RoundScalars]],
    *,
    alter: dict[str, RoundScalars] | None = None,
) -> list[str]:
    """Record scored rounds as the organisation's server does, with synthetic scalars
    signed by the key holder. ``alter`` replaces some wallets' scalars in every pinned
    manifest after the key holder signed them, as a dishonest organisation would."""
    from fl_app.ipfs import IpfsClient

    client = _client(world)
    authority = _keypair(world.org)
    key_holder = _keypair(world.key_holder_keypair)
    model_cids = []
    with IpfsClient(world.ipfs) as ipfs:
        for index, round_scalars in enumerate(scalars):
            buffer = io.BytesIO()
            torch.save({"w": torch.full((2,), float(index))}, buffer)
            model_cid = ipfs.add_bytes(buffer.getvalue(), name="model.pt")
            wallets = sorted(round_scalars)
            commitments = tuple(
                UpdateCommitment(
                    task_id=task,
                    server_round=index + 1,
                    node_id=node,
                    context_sha256="00" * 32,
                    weight=round_scalars[w].claimed_examples * 0.01,
                    num_values=2,
                    chunk_sha256=(),
                    signer=w,
                )
                for node, w in enumerate(wallets, start=1)
            )
            aggregation = RoundManifest(task, index + 1, "00" * 32, commitments)
            digest = bytes.fromhex(aggregation.digest())
            values = [
                [round_scalars[w].reference_inner, round_scalars[w].squared_norm] for w in wallets
            ]
            signed = signed_by(key_holder, scores_message(digest, 1.0, np.array(values)))
            published = round_scalars | (alter or {})
            manifest = {
                "task": task,
                "round": index + 1,
                "contributors": wallets,
                "model_cid": model_cid,
                "metrics": {"test_accuracy": 0.5 + 0.1 * index, "test_loss": 1.0 - 0.1 * index},
                "encrypted_aggregation": json.loads(aggregation.to_json()),
                "scoring": {
                    "reference_norm": 1.0,
                    "weight_scale": 0.01,
                    "scalars": {w: vars(x) for w, x in published.items()},
                    "decrypted": [
                        [published[w].reference_inner, published[w].squared_norm] for w in wallets
                    ],
                    "scores_attestation": signed.to_hex(),
                },
            }
            contributors = [Pubkey.from_string(w) for w in wallets]
            address = Pubkey.from_string(task)
            client.round_record(
                authority,
                address,
                round_index=index,
                manifest_cid=pin_manifest(ipfs, manifest),
                manifest_digest=digest,
                contributors=contributors,
                attestations=[round_attestation(key_holder, address, index, digest, contributors)],
                aggregate_cid=model_cid,
            )
            model_cids.append(model_cid)
    return model_cids


def _attest(fl_app: FlApp, world: World, task: str, *extra: str) -> str:
    """The key holder's attestation of the recomputed scores, as hex."""
    keypair = str(world.key_holder_keypair)
    run = fl_app("task", "attest", task, "-k", keypair, *world.common(), "--quiet", *extra)
    assert run.code == 0, run.stderr
    return run.stdout.strip()


def _scalars(honest: list[str], free_rider: str) -> dict[str, RoundScalars]:
    # w_i = n_i * s * u_i with s = 0.01, ||g0|| = 1: honest updates point along g0.
    values = {
        w: RoundScalars(1.0 - 0.2 * i, (1.0 - 0.2 * i) ** 2, 100) for i, w in enumerate(honest)
    }
    return values | {free_rider: RoundScalars(0.0, 0.0, 1_000)}


def test_rounds_finalize_and_claim_follow_the_manifests(fl_app: FlApp, world: World) -> None:
    task = world.create_task(fl_app)
    wallets = [world.wallet(name, sol=5) for name in ("ann", "ben", "cat")]
    for path in wallets:
        assert fl_app("stake", task, "1", "-k", str(path), "-u", world.chain.url).code == 0
    empty = fl_app("task", "rounds", task, "-u", world.chain.url)
    assert empty.stdout.strip() == f"no rounds recorded yet on task {task} (0 of 2 planned)"
    early = fl_app("claim", task, "-k", str(wallets[0]), "-u", world.chain.url)
    assert early.error.startswith(f"task {task} is not settled yet: claim after the organisation")

    honest, free_rider = [address_of(p) for p in wallets[:2]], address_of(wallets[2])
    rounds = [_scalars(honest, free_rider), _scalars(honest, free_rider)]
    model_cids = _record_rounds(world, task, rounds)

    listed = fl_app("task", "rounds", task, *world.common())
    assert listed.code == 0, listed.stderr
    assert "round 2: 3 contributors, test_accuracy 0.6000, test_loss 0.9000, scored" in (
        listed.stdout.splitlines()
    )
    ledger = ContributionLedger()
    for number, scalars in enumerate(rounds, start=1):
        ledger.add_round(number, scalars, reference_norm=1.0, weight_scale=0.01)
    participants = sorted(address_of(p) for p in wallets)
    expected = dict(zip(participants, ledger.weights(participants), strict=True))
    assert expected[free_rider] == 0

    audit = fl_app("task", "finalize", task, "--dry-run", *world.common(), "--json").json()
    assert audit["scores"] == expected and audit["posted"] is False
    not_owner = fl_app("task", "finalize", task, "-k", str(wallets[0]), *world.common())
    assert not_owner.error.startswith(f"wallet {honest[0]} is not the authority of task {task}")
    unattested = fl_app("task", "finalize", task, "-k", str(world.org), *world.common())
    assert unattested.code == 2
    assert unattested.error.startswith("no --attestation: the chain accepts scores only with")
    not_holder = fl_app("task", "attest", task, "-k", str(world.org), *world.common())
    assert not_holder.error.startswith(
        f"wallet {address_of(world.org)} does not attest task {task} (its committee members "
        f"or key holder: {world.key_holder})"
    )
    attested = fl_app(
        "task", "attest", task, "-k", str(world.key_holder_keypair), *world.common(), "--json"
    ).json()
    assert attested["scores"] == expected
    # The key holder's signature over other scores (the organisation's choice) is refused
    # by the chain: it checks the attestation against the scores actually posted.
    address = Pubkey.from_string(task)
    other = {Pubkey.from_string(p): 1 for p in participants}
    model = attested["model_cid"]
    elsewhere = final_attestation(_keypair(world.key_holder_keypair), address, model, other)
    swapped = fl_app(
        "task", "finalize", task, "-k", str(world.org), *world.common(),
        "--attestation", elsewhere.to_hex(),
    )  # fmt: skip
    assert swapped.code == 2
    assert swapped.error == (
        f"--attestation by {world.key_holder} does not sign these scores of task {task}: "
        f"each attestor signs the scores it recomputes with: fl-app task attest {task} -k "
        "ATTESTOR_KEYPAIR"
    )
    # Its own valid signature over the right scores is not the key holder's.
    right = {Pubkey.from_string(p): w for p, w in expected.items()}
    own = final_attestation(_keypair(world.org), address, model, right)
    by_org = fl_app(
        "task", "finalize", task, "-k", str(world.org), *world.common(),
        "--attestation", own.to_hex(),
    )  # fmt: skip
    assert by_org.error == (
        f"task {task}'s attestors did not sign these exact scores: each attestor signs the "
        f"scores it recomputes with: fl-app task attest {task} -k ATTESTOR_KEYPAIR"
    )
    assert _client(world).task(address).state.value == "Open"
    posted = fl_app(
        "task", "finalize", task, "-k", str(world.org), *world.common(),
        "--attestation", attested["attestation"],
    )  # fmt: skip
    assert posted.code == 0, posted.stderr
    assert f"model CID: {model_cids[-1]}" in posted.stdout
    on_chain = _client(world).task(Pubkey.from_string(task))
    assert on_chain.model_cid == model_cids[-1] and on_chain.state.value == "Finalized"

    claim = fl_app("claim", task, "-k", str(wallets[0]), "-u", world.chain.url, "--json")
    assert claim.code == 0, claim.stderr
    paid = claim.json()
    assert paid["reward_lamports"] > 0 and paid["rent_returned_lamports"] > 0
    assert _client(world).stake(Pubkey.from_string(task), Pubkey.from_string(honest[0])) is None
    assert paid["received_lamports"] == paid["reward_lamports"] + LAMPORTS_PER_SOL
    rider = fl_app("claim", task, "-k", str(wallets[2]), "-u", world.chain.url, "--json").json()
    assert rider["reward_lamports"] == 0 and rider["stake_returned_lamports"] == LAMPORTS_PER_SOL
    again = fl_app("claim", task, "-k", str(wallets[0]), "-u", world.chain.url)
    assert again.error == f"wallet {honest[0]} already claimed on task {task}"

    # The organisation takes back its rent once every stake is claimed.
    close = ("task", "close", task, "-k", str(world.org), "-u", world.chain.url)
    unclaimed = fl_app(*close)
    assert unclaimed.error == (
        f"task {task} still has 1 unclaimed stakes: close it once every participant has "
        f"run fl-app claim {task}"
    )
    assert fl_app("claim", task, "-k", str(wallets[1]), "-u", world.chain.url).code == 0
    closed = fl_app(*close, "--json")
    assert closed.code == 0, closed.stderr
    assert closed.json()["rounds_closed"] == 2 and closed.json()["rent_returned_lamports"] > 0
    assert _client(world).transport.get_account(Pubkey.from_string(task)) is None


def test_an_organisation_that_alters_signed_scalars_gets_no_scores_posted(
    fl_app: FlApp, world: World
) -> None:
    """The organisation publishes better scalars for its own sybil than the key holder
    decrypted; neither the key holder's attestation nor its own signature gets them
    onto the chain."""
    task = world.create_task(fl_app)
    wallets = [world.wallet(name, sol=5) for name in ("gus", "hal", "sybil")]
    for path in wallets:
        assert fl_app("stake", task, "1", "-k", str(path), "-u", world.chain.url).code == 0
    honest, sybil = [address_of(p) for p in wallets[:2]], address_of(wallets[2])
    inflated = {sybil: RoundScalars(1.0, 1.0, 1_000)}  # as if it sent the best update
    [model_cid] = _record_rounds(world, task, [_scalars(honest, sybil)], alter=inflated)

    altered = (
        f"round 1's scalars are not the ones the key holder {world.key_holder} decrypted "
        "and signed: the manifest was altered"
    )
    refused = fl_app("task", "attest", task, "-k", str(world.key_holder_keypair), *world.common())
    assert (refused.code, refused.error) == (2, altered)
    audit = fl_app("task", "finalize", task, "--dry-run", *world.common())
    assert (audit.code, audit.error) == (2, altered)

    # Its own signature over the scores it wants is refused before anything is sent.
    address = Pubkey.from_string(task)
    scores = {Pubkey.from_string(w): 1 for w in honest} | {Pubkey.from_string(sybil): 10**6}
    forged = final_attestation(_keypair(world.org), address, model_cid, scores)
    balance = _client(world).balance(address)
    posted = fl_app(
        "task", "finalize", task, "-k", str(world.org), *world.common(),
        "--attestation", forged.to_hex(),
    )  # fmt: skip
    assert (posted.code, posted.error) == (2, altered)
    on_chain = _client(world).task(address)
    assert on_chain.state.value == "Open" and on_chain.total_score == 0
    assert _client(world).balance(address) == balance


def test_expire_waits_for_the_deadline_then_anyone_may(fl_app: FlApp, world: World) -> None:
    task = world.create_task(
        fl_app, "--join-window", "60s", "--settle-window", "1h", "--grace", "1h"
    )
    anyone = world.wallet("anyone", sol=1)
    early = fl_app("task", "expire", task, "-k", str(anyone), "-u", world.chain.url)
    assert early.code == 2
    assert early.error.startswith(f"task {task} can expire only after ")
    assert early.error.endswith("(settle deadline plus grace period)")
    account = _client(world).task(Pubkey.from_string(task))
    world.chain.set_unix_timestamp(account.settle_deadline + account.grace_period + 1)
    run = fl_app("task", "expire", task, "-k", str(anyone), "-u", world.chain.url)
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"task {task} expired: every stake returns in full")
    assert _client(world).task(Pubkey.from_string(task)).state.value == "Expired"


def test_json_mode_prints_one_object(fl_app: FlApp, world: World) -> None:
    task = world.create_task(fl_app)
    run = fl_app("--json", "task", "status", task, "-u", world.chain.url)
    assert run.code == 0
    assert json.loads(run.stdout)["address"] == task
    assert len(run.stdout.strip().splitlines()) == 1


def test_status_on_a_chain_that_cannot_list_stakes_says_so(
    fl_app: FlApp, world: World, kubo_daemon: KuboDaemon
) -> None:
    with LocalChainServer(0) as plain:
        _without_listing(plain)
        world = World(
            plain, world.ipfs, new_wallet(world.tmp, "org2", plain, sol=20), world.key_holder,
            world.key_holder_keypair, world.context, world.tmp,
        )  # fmt: skip
        task = world.create_task(fl_app)
        run = fl_app("task", "status", task, "-u", plain.url)
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines()[-1] == (
        f"participants: not listed (the chain at {plain.url} cannot list accounts "
        "(no getProgramAccounts); use an RPC that serves it, or name the stakers with "
        "--participant)"
    )


def test_finalize_without_listing_scores_contributors_and_named_stakers(
    fl_app: FlApp, world: World
) -> None:
    with LocalChainServer(0) as plain:
        _without_listing(plain)
        world = World(
            plain, world.ipfs, new_wallet(world.tmp, "org3", plain, sol=20), world.key_holder,
            world.key_holder_keypair, world.context, world.tmp,
        )  # fmt: skip
        task = world.create_task(fl_app)
        wallets = [world.wallet(name, sol=5) for name in ("dan", "eve", "fay")]
        for path in wallets:
            assert fl_app("stake", task, "1", "-k", str(path), "-u", plain.url).code == 0
        worked = [address_of(p) for p in wallets[:2]]
        idle = address_of(wallets[2])  # staked, never sampled: in no manifest
        _record_rounds(world, task, [_scalars(worked[:1], worked[1])])
        common = ["-k", str(world.org), *world.common()]
        missing = fl_app("task", "finalize", task, *common, "--attestation", "00" * 96)
        assert missing.error.startswith(f"found 2 of the 3 stakes of task {task}")
        assert missing.error.endswith("name the others with --participant ADDRESS")
        attestation = _attest(fl_app, world, task, "--participant", idle)
        run = fl_app(
            "task", "finalize", task, *common, "--participant", idle, "--json",
            "--attestation", attestation,
        )  # fmt: skip
    assert run.code == 0, run.stderr
    scores = run.json()["scores"]
    assert set(scores) == {*worked, idle} and scores[idle] == 0 and scores[worked[0]] > 0


def _without_listing(server: LocalChainServer) -> None:
    """Turn the service into an RPC provider that disables getProgramAccounts, as many
    public ones do for its cost."""
    del server.methods._methods["getProgramAccounts"]


def test_task_dashboard_follows_any_task_from_chain_and_ipfs(fl_app: FlApp, world: World) -> None:
    from fl_app.commands.cluster import resolve_cluster
    from fl_app.commands.stakers import list_stakes
    from fl_app.dashboard import DashboardState, create_app
    from fl_app.dashboard.task_feed import TaskFeed
    from fl_app.ipfs import IpfsClient

    task = world.create_task(fl_app)
    wallets = [world.wallet(name, sol=5) for name in ("dan", "eve", "fay")]
    for path in wallets:
        assert fl_app("stake", task, "1", "-k", str(path), "-u", world.chain.url).code == 0
    honest, free_rider = [address_of(p) for p in wallets[:2]], address_of(wallets[2])
    _record_rounds(world, task, [_scalars(honest, free_rider)] * 2)

    state = DashboardState()
    address = Pubkey.from_string(task)
    with IpfsClient(world.ipfs) as ipfs:
        feed = TaskFeed(
            state,
            client=_client(world),
            task=address,
            stakes=lambda: list_stakes(resolve_cluster(world.chain.url), address),
            source=ipfs,
        )
        feed.refresh()
        version = state.version
        feed.refresh()  # nothing new on chain: the page's plots stay cached
    snapshot = state.snapshot()

    assert state.version == version
    assert [(r.number, r.accuracy, r.contributors) for r in snapshot.rounds] == [
        (1, 0.5, 3),
        (2, pytest.approx(0.6), 3),
    ]
    assert sorted(p.address for p in snapshot.participants) == sorted(map(address_of, wallets))
    assert snapshot.task is not None and snapshot.task.rounds_recorded == 2
    page = create_app(state).test_client()
    assert 'data-round="2"' in page.get("/live").get_data(as_text=True)
    assert page.get("/plots/accuracy.png").data.startswith(b"\x89PNG")


def test_task_dashboard_refuses_an_address_that_is_not_a_task(fl_app: FlApp, world: World) -> None:
    stranger = address_of(world.wallet("stranger"))
    run = fl_app("task", "dashboard", stranger, *world.common())
    assert run.code == 2
    assert run.error.startswith(f"no task at {stranger} on {world.chain.url}")
