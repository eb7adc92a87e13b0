"""A skipped round is a skipped round: too few proofs, replies or inputs never end a run."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pytest
from flwr.app import ArrayRecord, Context, Message, RecordDict
from solders.keypair import Keypair

from fl_app.errors import ConfigError
from fl_app.ml import TabularMLP
from fl_app.run_report import RunReport
from fl_app.server.server_app import ServerServices, build_server_app
from fl_app.settings import RunSettings
from strategy import EncryptedFedAvg, KeyHolder, KeyMaterial, Wallet
from strategy.ckks import chunks_to_arrayrecord
from strategy.constants import RECORD_UPDATE
from strategy.stake_gate import StakeGate, StakeStatus, register_stake_prover
from strategy.stake_gated import StakeGatedStrategy
from tests.he_fixtures import FakeFederation, make_model, perturbed

SHAPES = {"w": (3, 4), "b": (4,)}
TASK = "task-skips"
NODES = [201, 202, 203]


class StakedFederation(FakeFederation):
    """A FakeFederation whose nodes prove wallets; ``connected`` nodes are the visible ones."""

    def __init__(
        self, keys: KeyMaterial, *, key_holder_node_id: int = NODES[0], min_inputs: int = 3
    ) -> None:
        model = make_model(SHAPES, seed=0)
        super().__init__(
            local_models={n: perturbed(model, seed=n) for n in NODES},
            num_examples={n: 20 for n in NODES},
            key_holder=lambda: KeyHolder(
                secret_context=keys.secret_context,
                min_inputs=min_inputs,
                wallet=self.wallets[key_holder_node_id],
            ),
            key_holder_node_id=key_holder_node_id,
        )
        self.model = model
        self.wallets = {n: Wallet.from_keypair_bytes(bytes(Keypair())) for n in NODES}
        self.connected: list[int] = list(NODES)
        self.on_look: list[int] = []
        """Nodes that connect, one per look at the connected nodes (late joiners)."""

        def load_wallet(context: Context) -> Wallet | None:
            return self.wallets[context.node_id]

        register_stake_prover(self.app, load_wallet)

    def get_node_ids(self) -> Iterable[int]:
        if self.on_look:
            self.connected.append(self.on_look.pop(0))
        return list(self.connected)


def _skipped(strategy: StakeGatedStrategy | EncryptedFedAvg) -> dict[int, str]:
    return {r: outcome.skipped for r, outcome in strategy.outcomes.items() if outcome.skipped}


def _strategy(
    keys: KeyMaterial,
    federation: StakedFederation,
    staked: set[str],
    min_inputs: int = 3,
    **gated: float,
) -> StakeGatedStrategy:
    def lookup(wallet: str) -> StakeStatus | None:
        return StakeStatus(amount=10, active=True) if wallet in staked else None

    inner = EncryptedFedAvg(
        public_context=keys.public_context,
        task_id=TASK,
        key_holder_wallet=federation.wallets[NODES[0]].address,
        min_decrypt_inputs=min_inputs,
        fraction_evaluate=0.0,
        min_train_nodes=3,
        min_available_nodes=3,
    )
    gate = StakeGate(task=TASK, min_stake=1, stake_lookup=lookup, poll_s=0.01)
    return StakeGatedStrategy(inner, gate, **gated)


@pytest.mark.usefixtures("server_identity")
def test_rounds_without_enough_proofs_are_skipped_and_the_run_ends(
    ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    federation = StakedFederation(ckks_keys)
    one_staker = {federation.wallets[NODES[0]].address}
    strategy = _strategy(ckks_keys, federation, one_staker)

    caplog.set_level(logging.WARNING, logger="flwr")
    result = strategy.start(federation, federation.model, num_rounds=3)

    assert len(result.arrays) == 0  # nothing aggregated; the caller keeps its model
    assert _skipped(strategy) == {r: "1 staked node(s) proved, 3 needed" for r in (1, 2, 3)}
    assert "round 3 skipped: 1 staked node(s) proved, 3 needed" in caplog.text
    assert federation.train_replies == []


@pytest.mark.usefixtures("server_identity")
def test_a_round_after_skipped_ones_aggregates_from_the_unchanged_model(
    ckks_keys: KeyMaterial,
) -> None:
    federation = StakedFederation(ckks_keys)
    staked: set[str] = set()
    strategy = _strategy(ckks_keys, federation, staked)
    seen: dict[int, ArrayRecord] = {}

    def evaluate(server_round: int, arrays: ArrayRecord) -> None:
        seen[server_round] = arrays
        if server_round == 1:  # the participants stake after round 1
            staked.update(w.address for w in federation.wallets.values())

    result = strategy.start(federation, federation.model, num_rounds=2, evaluate_fn=evaluate)

    assert list(_skipped(strategy)) == [1]
    assert seen[1] is federation.model
    assert len(result.arrays) == len(federation.model)
    assert not np.allclose(result.arrays["w"].numpy(), federation.model["w"].numpy())
    assert set(strategy.outcomes[2].contributors) == {
        w.address for w in federation.wallets.values()
    }


@pytest.mark.usefixtures("server_identity")
def test_a_missing_key_holder_skips_the_round_instead_of_ending_the_run(
    ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    # The task's key holder (node 201's wallet) is not connected: node 202 holds the
    # key material but proves another wallet.
    federation = StakedFederation(ckks_keys, key_holder_node_id=NODES[1])
    strategy = _strategy(ckks_keys, federation, {w.address for w in federation.wallets.values()})

    caplog.set_level(logging.WARNING, logger="flwr")
    strategy.start(federation, federation.model, num_rounds=2)

    assert set(_skipped(strategy)) == {1, 2}
    assert "no connected node proved it is key holder" in _skipped(strategy)[1]
    assert "Round 2 skipped: no connected node proved it is key holder" in caplog.text


@pytest.mark.usefixtures("server_identity")
def test_the_first_round_waits_for_late_stakers(ckks_keys: KeyMaterial) -> None:
    federation = StakedFederation(ckks_keys)
    federation.connected = [NODES[0]]
    federation.on_look = [NODES[1], NODES[2]]
    strategy = _strategy(
        ckks_keys,
        federation,
        {w.address for w in federation.wallets.values()},
        node_wait_timeout=600.0,
    )

    result = strategy.start(federation, federation.model, num_rounds=1)

    assert _skipped(strategy) == {}
    assert len(result.arrays) == len(federation.model)
    assert set(strategy.outcomes[1].contributors) == {
        w.address for w in federation.wallets.values()
    }


@pytest.mark.usefixtures("server_identity")
def test_the_key_holder_is_sought_once_the_minimum_of_nodes_is_connected(
    ckks_keys: KeyMaterial,
) -> None:
    # The Simulation Engine starts the ServerApp before it registers the nodes, and in a
    # deployment the key holder may connect after others: round 1 must not be lost to it.
    federation = StakedFederation(ckks_keys)
    federation.connected = [NODES[1]]
    federation.on_look = [NODES[2], NODES[0]]
    strategy = _strategy(ckks_keys, federation, set()).strategy

    result = strategy.start(federation, federation.model, num_rounds=1)

    assert _skipped(strategy) == {}
    assert strategy.key_holder_node_id == NODES[0]
    assert not np.allclose(result.arrays["w"].numpy(), federation.model["w"].numpy())


@pytest.mark.usefixtures("server_identity")
def test_a_staker_whose_update_is_rejected_is_not_a_contributor(ckks_keys: KeyMaterial) -> None:
    # Only wallets whose updates are in the decrypted sum are credited on chain.
    federation = StakedFederation(ckks_keys, min_inputs=2)
    everyone = {w.address for w in federation.wallets.values()}
    strategy = _strategy(ckks_keys, federation, everyone, min_inputs=2)

    def garble(reply: Message) -> Message:  # a ciphertext cut short
        chunk = bytes(reply.content[RECORD_UPDATE]["0"].data)  # type: ignore[union-attr]
        reply.content[RECORD_UPDATE] = chunks_to_arrayrecord([chunk[:100]])
        return reply

    federation.tamper[NODES[2]] = garble
    strategy.start(federation, federation.model, num_rounds=1)

    outcome = strategy.outcomes[1]
    assert outcome.skipped == ""
    assert outcome.contributors == (
        federation.wallets[NODES[0]].address,
        federation.wallets[NODES[1]].address,
    )
    assert [c.node_id for c in outcome.manifest.commitments] == NODES[:2]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("config", "nodes", "message"),
    [
        (
            {"fraction-train": 0.3, "min-nodes": 2},
            4,
            "run config 'fraction-train' 0.3 samples 2 of 4 participant(s), fewer than "
            "'ckks-min-inputs' 3: every round would be skipped; raise 'fraction-train' to "
            "at least 0.75 or 'min-nodes' to 3",
        ),
        (
            {"min-nodes": 5},
            4,
            "run config 'min-nodes' is 5 but only 4 participant(s) can take part",
        ),
    ],
)
def test_a_sampling_that_never_reaches_the_minimum_inputs_is_refused(
    config: dict[str, object], nodes: int, message: str
) -> None:
    settings = RunSettings.from_run_config(config)
    with pytest.raises(ConfigError) as info:
        settings.check_sampling(nodes)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_sampling_that_reaches_the_minimum_inputs_is_accepted() -> None:
    RunSettings.from_run_config({"fraction-train": 0.75, "min-nodes": 2}).check_sampling(4)
    RunSettings.from_run_config({"fraction-train": 0.1, "min-nodes": 3}).check_sampling(10)


@pytest.mark.usefixtures("server_identity")
def test_a_run_with_every_round_skipped_ends_with_the_initial_model(
    ckks_keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    federation = StakedFederation(ckks_keys)
    report = RunReport()
    app = build_server_app(
        # Nobody ever stakes: the organisation's wait before round 1 is what ends.
        {"num-server-rounds": 2, "min-nodes": 3, "contribution-scoring": False,
         "node-wait-timeout": 0.5},
        report=report,
        services=ServerServices(
            public_context=ckks_keys.public_context,
            key_holder=federation.wallets[NODES[0]].address,
            gate=StakeGate(task=TASK, min_stake=1, stake_lookup=lambda _: None, poll_s=0.01),
        ),
    )  # fmt: skip

    caplog.set_level(logging.INFO, logger="flwr")
    app(federation, Context(1, 0, {}, RecordDict(), {}))

    assert [r.skipped for r in report.rounds] == ["", *["0 staked node(s) proved, 3 needed"] * 2]
    assert report.final_arrays is not None
    model = TabularMLP.from_state_dict(report.final_arrays.to_torch_state_dict())
    assert model is not None
    assert "run summary: 0 of 2 round(s) aggregated, 2 skipped" in caplog.text


@pytest.mark.usefixtures("server_identity")
def test_a_node_too_busy_to_prove_in_time_is_asked_again_before_round_one(
    ckks_keys: KeyMaterial,
) -> None:
    federation = StakedFederation(ckks_keys)
    federation.dropped = {NODES[2]}  # its first proof never arrives
    answer = federation.send_and_receive

    def slow_once(messages: Iterable[Message], *, timeout: float | None = None) -> list[Message]:
        replies = list(answer(messages, timeout=timeout))
        federation.dropped = set()
        return replies

    federation.send_and_receive = slow_once  # type: ignore[method-assign]
    strategy = _strategy(
        ckks_keys,
        federation,
        {w.address for w in federation.wallets.values()},
        node_wait_timeout=600.0,
    )

    strategy.start(federation, federation.model, num_rounds=1)

    assert _skipped(strategy) == {}
    assert set(strategy.outcomes[1].contributors) == {
        w.address for w in federation.wallets.values()
    }
