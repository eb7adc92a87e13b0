"""Round benchmark: plaintext FedAvg vs CKKS EncryptedFedAvg (single key, committee) vs SecAgg+.

Runs 10 simulated participants on Flower's Simulation Engine, in this process and on
this machine, for MLPs of about 100k and 1M float32 parameters. Modes, in one run:
plaintext FedAvg, ``ckks`` (``EncryptedFedAvg`` under a TenSEAL context, decrypted by
one key holder), ``secaggplus`` (Flower's SecAgg+) and ``threshold`` (``EncryptedFedAvg``
under a committee's collective key: participants 0..4 form a 3-of-5 committee, which
generates the key before the first round and decrypts each round's sum after its spot
checks, ``strategy.threshold``). It records per mode:

* bytes per participant per round: the serialized (protobuf) train replies a
  participant sends in a round, summed over all protocol stages (SecAgg+ has four),
  measured in round 1 (converting replies to protobuf costs time, so the timed rounds
  do not do it);
* round time: median wall time of the rounds after the first (warm-up) round;
* where the time goes: local training and client-side encryption per participant,
  and the aggregator's and key holder's phases (ckks) or the aggregator's and the
  committee members' phases (threshold);
* threshold only: the key generation's wall time (once per run, before round 1, not in
  any round time), and the bytes each committee member receives and sends per round
  (challenge and release messages, serialized, measured in round 1).

with ratios against plaintext FedAvg. Local training is identical in every mode: one
SGD epoch (batch 32, learning rate 0.05, one torch thread) of a 784-h-10 ReLU MLP over
6000 synthetic MNIST-shaped samples per participant (the MNIST training set split over
10 participants), with ``h`` chosen for the parameter count. Writes
``benchmarks/results/round_time.json`` and ``.md``.

SecAgg+: flwr 1.41 offers it only through the legacy ``SecAggPlusWorkflow`` (a
``DefaultWorkflow`` with ``LegacyContext`` and the legacy ``FedAvg``) and
``secaggplus_mod`` on a ``client_fn`` ClientApp; the message-API strategies have no
SecAgg+ variant, so that is the baseline used here.

Threshold mode: every participant has a wallet (keypair files in the run's work
directory, loaded by partition id, since simulated nodes have no node config) and signs
its commitments (``signing_ckks_mod``); members 1..5 are partitions 0..4, each keeping
its store in a directory of its own under the work directory, accepting sums of at
least 3 inputs signed by any of the 10 wallets. The server finds the members' nodes
(``find_members``), runs ``generate_key`` and then ``EncryptedFedAvg`` with the same
arguments as the ckks mode.

Usage: ``python benchmarks/round_bench.py [--quick] [--rounds N] [--local-epochs E]
[--modes plaintext,threshold]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import ndarrays_to_parameters
from flwr.common.serde import recorddict_to_proto
from flwr.server import LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from flwr.serverapp.strategy.strategy_utils import sample_nodes
from flwr.simulation import run_simulation

from strategy import (
    EncryptedFedAvg,
    KeyHolder,
    Wallet,
    ckks_mod,
    register_key_holder,
    signing_ckks_mod,
)
from strategy.attestation import Attestation
from strategy.constants import ACTION_CHALLENGE, ACTION_RELEASE, KEY_MANIFEST_JSON, RECORD_SUM
from strategy.decrypt_request import DecryptRequest
from strategy.threshold import CommitteeConfig
from strategy.threshold.committee_client import Committee, find_members, generate_key
from strategy.threshold.member_app import MemberSetup, register_committee_member

NUM_PARTICIPANTS = 10
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODES = ("plaintext", "ckks", "secaggplus", "threshold", "threshold_scored")
REFERENCE_PARTITION = 10
"""The organisation's own data, from which it trains the reference update ``g0``."""
COMMITTEE_SIZE = 5
COMMITTEE_THRESHOLD = 3
MIN_DECRYPT_INPUTS = 3
COMMITTEE_TIMEOUT = 600.0
"""Seconds to wait for members to identify themselves and for each key-generation step."""
MEMBER_ACTIONS = (ACTION_CHALLENGE, ACTION_RELEASE)
INPUT_DIM = 784
NUM_CLASSES = 10
SAMPLES_PER_PARTICIPANT = 6000
LOCAL_EPOCHS_ENV = "ROUND_BENCH_LOCAL_EPOCHS"
"""Local epochs per round; an environment variable so that simulation workers see it."""
BATCH_SIZE = 32
LEARNING_RATE = 0.05
# n_k * s = 6 per participant: |delta| up to 4.2 fits the CKKS headroom, and the total
# weight of 60 keeps the average within 1e-5 of plaintext FedAvg.
WEIGHT_SCALE = 0.001


def hidden_units(num_params: int) -> int:
    """Hidden width of the 784-h-10 MLP closest to ``num_params`` parameters."""
    return max(1, round((num_params - NUM_CLASSES) / (INPUT_DIM + 1 + NUM_CLASSES)))


def make_mlp(num_params: int) -> torch.nn.Sequential:
    """The benchmark model: a 784-h-10 ReLU MLP."""
    hidden = hidden_units(num_params)
    return torch.nn.Sequential(
        torch.nn.Linear(INPUT_DIM, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, NUM_CLASSES)
    )


def initial_arrays(num_params: int) -> list[np.ndarray]:
    """Initial float32 weights of the MLP (same seed in every mode)."""
    torch.manual_seed(0)
    return [p.detach().numpy().copy() for p in make_mlp(num_params).parameters()]


_DATA: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def synthetic_data(partition_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Participant data: Gaussian classes around shared means, MNIST-shaped (cached).

    A plain dict, not ``functools.cache``: Ray workers cannot unpickle a cache wrapper
    defined in a script run as ``__main__``.
    """
    if partition_id in _DATA:
        return _DATA[partition_id]
    means = np.random.default_rng(0).normal(0, 1, (NUM_CLASSES, INPUT_DIM))
    rng = np.random.default_rng(1 + partition_id)
    labels = rng.integers(0, NUM_CLASSES, SAMPLES_PER_PARTICIPANT)
    features = means[labels] + rng.normal(0, 2, (SAMPLES_PER_PARTICIPANT, INPUT_DIM))
    _DATA[partition_id] = (torch.from_numpy(features.astype(np.float32)), torch.from_numpy(labels))
    return _DATA[partition_id]


def local_update(arrays: list[np.ndarray], partition_id: int) -> tuple[list[np.ndarray], int]:
    """``LOCAL_EPOCHS_ENV`` SGD epochs (default 1) of the MLP on the participant's data."""
    torch.set_num_threads(1)
    num_params = sum(a.size for a in arrays)
    model = make_mlp(num_params)
    with torch.no_grad():
        for param, array in zip(model.parameters(), arrays, strict=True):
            param.copy_(torch.from_numpy(np.asarray(array, dtype=np.float32)))
    features, labels = synthetic_data(partition_id)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(partition_id)
    for _ in range(int(os.environ.get(LOCAL_EPOCHS_ENV, "1"))):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(labels), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(features[batch]), labels[batch])
            loss.backward()
            optimizer.step()
    return [p.detach().numpy().copy() for p in model.parameters()], len(labels)


_TRAIN_STATE = "bench-train"


def _server_round(msg: Message) -> int:
    if msg.metadata.group_id.isdigit():  # legacy workflows (SecAgg+)
        return int(msg.metadata.group_id)
    for record in msg.content.config_records.values():
        if "server-round" in record:
            return int(record["server-round"])  # type: ignore[call-overload]
    return 0


def _member_action(msg: Message) -> str | None:
    """The committee action of a member query (challenge, release), else None."""
    kind, _, action = msg.metadata.message_type.partition(".")
    return action if kind == "query" and action in MEMBER_ACTIONS else None


def client_timing_mod(log_path: Path) -> Callable[[Message, Context, ClientAppCallable], Message]:
    """Outermost mod: log each train reply's size (round 1 only) and client-side times.

    Also logs how long a committee member takes to answer a challenge or release query
    (loading its store, the guard's checks, the decryption share).
    """

    def mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
        started = time.perf_counter()
        reply = call_next(msg, context)
        total = time.perf_counter() - started
        action = _member_action(msg)
        if action is not None:
            manifest = json.loads(str(msg.content.config_records[RECORD_SUM][KEY_MANIFEST_JSON]))
            answer = {
                "member_node": context.node_id,
                "action": action,
                "round": int(manifest["server_round"]),
                "seconds": total,
                "refused": reply.error.reason if reply.has_error() else "",
            }
            with log_path.open("a", encoding="utf-8") as log_file:
                log_file.write(json.dumps(answer) + "\n")
            return reply
        if not msg.metadata.message_type.startswith("train") or reply.has_error():
            return reply
        server_round = _server_round(msg)
        entry: dict[str, Any] = {"node": context.node_id, "round": server_round}
        entry["client_s"] = total
        train = context.state.config_records.pop(_TRAIN_STATE, None)
        entry["train_s"] = float(train["seconds"]) if train else 0.0  # type: ignore[arg-type]
        if server_round == 1:
            entry["bytes"] = recorddict_to_proto(reply.content).ByteSize()
        with log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(json.dumps(entry) + "\n")
        return reply

    return mod


def timed_local_update(
    arrays: list[np.ndarray], partition_id: int, context: Context
) -> tuple[list[np.ndarray], int]:
    """``local_update``, leaving its duration in the node state for ``client_timing_mod``."""
    synthetic_data(partition_id)  # generated and cached outside the timed epoch
    started = time.perf_counter()
    result = local_update(arrays, partition_id)
    context.state[_TRAIN_STATE] = ConfigRecord({"seconds": time.perf_counter() - started})
    return result


class _LoggingKeyHolder(KeyHolder):
    """Appends the phase timings of every decryption to the run's log."""

    def __init__(self, *, log_path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log_path = log_path

    def decrypt(self, request: DecryptRequest) -> np.ndarray:
        values = super().decrypt(request)
        entry = {"key_holder": self.last_timings, "round": request.manifest.server_round}
        with self.log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(json.dumps(entry) + "\n")
        return values


def message_client_app(mods: list[Any], key_dir: Path | None, log_path: Path) -> ClientApp:
    """Quickstart-shaped ClientApp; with ``key_dir`` partition 0 is the key holder."""
    app = ClientApp(mods=mods)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        arrays = [a.numpy() for a in msg.content["arrays"].values()]  # type: ignore[union-attr]
        partition_id = int(context.node_config["partition-id"])
        updated, num_examples = timed_local_update(arrays, partition_id, context)
        record = ArrayRecord({str(i): Array(a) for i, a in enumerate(updated)})
        metrics = MetricRecord({"num-examples": num_examples})
        return Message(RecordDict({"arrays": record, "metrics": metrics}), reply_to=msg)

    if key_dir is not None:

        def load(context: Context) -> KeyHolder | None:
            if int(context.node_config["partition-id"]) != 0:
                return None
            wallet = Wallet.from_keypair_bytes((key_dir / "wallet.bin").read_bytes())
            sealed = (key_dir / "secret.sealed").read_bytes()
            return _LoggingKeyHolder.from_sealed(sealed, wallet, min_inputs=3, log_path=log_path)

        register_key_holder(app, load)
    return app


_WALLETS: dict[tuple[str, int], Wallet] = {}


def participant_wallet(wallet_dir: Path, partition_id: int) -> Wallet:
    """The wallet of a participant, from its keypair file in ``wallet_dir`` (cached)."""
    key = (str(wallet_dir), partition_id)
    if key not in _WALLETS:
        keypair = (wallet_dir / f"{partition_id}.bin").read_bytes()
        _WALLETS[key] = Wallet.from_keypair_bytes(keypair)
    return _WALLETS[key]


def wallet_addresses(wallet_dir: Path) -> list[str]:
    """Every participant's wallet address, by partition id."""
    return (wallet_dir / "addresses.txt").read_text().split()


def threshold_client_app(
    timing_mod: Any, wallet_dir: Path, member_dir: Path, log_path: Path
) -> ClientApp:
    """The quickstart ClientApp signing its commitments; partitions 0..4 are members.

    Simulated nodes have no node config of their own, so the wallet and the member's
    setup are found by partition id.
    """

    def load_wallet(context: Context) -> Wallet:
        return participant_wallet(wallet_dir, int(context.node_config["partition-id"]))

    def load_member(context: Context) -> MemberSetup | None:
        partition_id = int(context.node_config["partition-id"])
        if partition_id >= COMMITTEE_SIZE:
            return None
        return MemberSetup(
            wallet=load_wallet(context),
            store=member_dir / f"member-{partition_id}",
            min_inputs=MIN_DECRYPT_INPUTS,
            allowed_signers=frozenset(wallet_addresses(wallet_dir)),
        )

    app = message_client_app([timing_mod, signing_ckks_mod(load_wallet)], None, log_path)
    register_committee_member(app, load_member)
    return app


class _SecAggClient(NumPyClient):
    def __init__(self, partition_id: int, context: Context) -> None:
        self.partition_id = partition_id
        self.node_context = context

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        updated, num_examples = timed_local_update(parameters, self.partition_id, self.node_context)
        return updated, num_examples, {}


def secagg_client_app(mods: list[Any]) -> ClientApp:
    """Legacy ClientApp with ``secaggplus_mod``."""

    def client_fn(context: Context):  # type: ignore[no-untyped-def]
        partition_id = int(context.node_config["partition-id"])
        return _SecAggClient(partition_id, context).to_client()

    return ClientApp(client_fn=client_fn, mods=mods)


class _CommitteeGrid:
    """The strategy's grid during one committee decryption.

    Times every exchange with the members and, with ``record_bytes``, records the
    serialized size of each message to and from a member, by node and action (after the
    exchange's timing ends).
    """

    def __init__(self, grid: Grid, record_bytes: bool) -> None:
        self._grid = grid
        self.record_bytes = record_bytes
        self.exchanges: list[tuple[str, float, float]] = []
        self.bytes: dict[int, dict[str, int]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> list[Message]:
        """The grid's exchange, timed."""
        messages = list(messages)
        action = messages[0].metadata.message_type.partition(".")[2] if messages else ""
        started = time.perf_counter()
        replies = list(self._grid.send_and_receive(messages, timeout=timeout))
        self.exchanges.append((action, started, time.perf_counter()))
        if self.record_bytes:
            for message in messages:
                self._count(message.metadata.dst_node_id, f"{action}_received", message)
            for reply in replies:
                if not reply.has_error():
                    self._count(reply.metadata.src_node_id, f"{action}_sent", reply)
        return replies

    def _count(self, node: int, key: str, message: Message) -> None:
        size = recorddict_to_proto(message.content).ByteSize()
        self.bytes.setdefault(node, {})[key] = size

    def phases(self, started: float, finished: float) -> dict[str, float]:
        """The decryption's phases, in seconds, between ``started`` and ``finished``."""
        challenges = [(a, b) for action, a, b in self.exchanges if action == ACTION_CHALLENGE]
        releases = [(a, b) for action, a, b in self.exchanges if action == ACTION_RELEASE]
        if not challenges or not releases:
            return {}
        return {
            "challenge_exchange_s": sum(b - a for a, b in challenges),
            # The aggregator opens each decrypting member's leaves in every input (the
            # inputs' Merkle trees are built when their replies are validated).
            "openings_s": releases[0][0] - challenges[-1][1],
            "release_exchange_s": sum(b - a for a, b in releases),
            "combine_s": finished - releases[-1][1],
            "release_attempts": len(releases),
        }


class _RecordingEncryptedFedAvg(EncryptedFedAvg):
    """Also records what the decryption costs beyond the strategy's own timings.

    Key holder: the size of the request the aggregator sends it. Committee: the phases of
    each decryption and the bytes of every message to and from a member. Converting
    messages to protobuf costs time, so only round 1 (not timed) measures bytes.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_bytes: list[int] = []
        self.member_bytes: dict[int, dict[str, int]] = {}
        self.committee_phases: dict[int, dict[str, float]] = {}

    def _request_decryption(self, request: DecryptRequest) -> tuple[np.ndarray, Attestation | None]:
        if request.manifest.server_round == 1:
            self.request_bytes.append(recorddict_to_proto(request.to_recorddict()).ByteSize())
        return super()._request_decryption(request)

    def _decrypt_sum(self, request: DecryptRequest, *args: Any) -> Any:
        if self.committee is None or self._grid is None:
            return super()._decrypt_sum(request, *args)
        server_round = request.manifest.server_round
        grid = self._grid
        recorder = _CommitteeGrid(grid, record_bytes=server_round == 1)
        self._grid = cast(Grid, recorder)
        started = time.perf_counter()
        try:
            return super()._decrypt_sum(request, *args)
        finally:
            finished = time.perf_counter()
            self._grid = grid
            self.committee_phases[server_round] = recorder.phases(started, finished)
            if recorder.record_bytes:
                self.member_bytes = recorder.bytes


def reference_update_fn(extra: dict) -> Callable[[int, ArrayRecord], np.ndarray]:
    """The organisation's reference update: the same local training on its own data.

    Its time is recorded per round; the strategy runs it while the participants train.
    """
    seconds: dict[int, float] = extra.setdefault("reference_s", {})

    def reference(server_round: int, arrays: ArrayRecord) -> np.ndarray:
        started = time.perf_counter()
        current = [a.numpy() for a in arrays.values()]
        trained, _ = local_update(current, REFERENCE_PARTITION)
        update = np.concatenate([(t - c).ravel() for t, c in zip(trained, current, strict=True)])
        seconds[server_round] = time.perf_counter() - started
        return update.astype(np.float64)

    return reference


def threshold_strategy(
    grid: Grid, wallet_dir: Path, extra: dict, scored: bool, **kwargs: Any
) -> _RecordingEncryptedFedAvg:
    """Find the committee's nodes, run its key generation (timed), return the strategy.

    A scored strategy also decrypts each input's ``<w_i, g0>`` with the sum.
    """
    member_wallets = tuple(wallet_addresses(wallet_dir)[:COMMITTEE_SIZE])
    task_id = Wallet.generate().address
    sample_nodes(grid, NUM_PARTICIPANTS, sample_size=0)  # as the strategy waits for nodes
    started = time.perf_counter()
    nodes = find_members(grid, member_wallets, COMMITTEE_TIMEOUT)
    found = time.perf_counter()
    config = CommitteeConfig(
        seed=task_id.encode(), size=COMMITTEE_SIZE, threshold=COMMITTEE_THRESHOLD
    )
    public_key, committee = generate_key(
        grid, Committee(config, member_wallets, nodes), COMMITTEE_TIMEOUT
    )
    extra["find_members_s"] = found - started
    extra["key_generation_s"] = time.perf_counter() - found
    return _RecordingEncryptedFedAvg(
        public_context=public_key,
        committee=committee,
        task_id=task_id,
        min_decrypt_inputs=MIN_DECRYPT_INPUTS,
        weight_scale=WEIGHT_SCALE,
        reference_update_fn=reference_update_fn(extra) if scored else None,
        **kwargs,
    )


def message_server_app(
    mode: str,
    num_params: int,
    rounds: int,
    stamps: list[float],
    key_dir: Path,
    wallet_dir: Path,
    extra: dict,
) -> ServerApp:
    """ServerApp running FedAvg or EncryptedFedAvg, time-stamping every round."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        common = {
            "fraction_evaluate": 0.0,
            "min_train_nodes": NUM_PARTICIPANTS,
            "min_available_nodes": NUM_PARTICIPANTS,
        }
        strategy: FedAvg
        if mode == "ckks":
            strategy = _RecordingEncryptedFedAvg(
                public_context=(key_dir / "public.bin").read_bytes(),
                task_id="bench",
                key_holder_wallet=(key_dir / "address.txt").read_text(),
                min_decrypt_inputs=MIN_DECRYPT_INPUTS,
                weight_scale=WEIGHT_SCALE,
                **common,
            )
        elif mode.startswith("threshold"):
            scored = mode == "threshold_scored"
            strategy = threshold_strategy(grid, wallet_dir, extra, scored, **common)
        else:
            strategy = FedAvg(**common)
        arrays = ArrayRecord({str(i): Array(a) for i, a in enumerate(initial_arrays(num_params))})

        def stamp(server_round: int, _: ArrayRecord) -> None:
            stamps.append(time.perf_counter())

        strategy.start(grid, arrays, num_rounds=rounds, timeout=1800, evaluate_fn=stamp)
        if isinstance(strategy, _RecordingEncryptedFedAvg):
            extra["skipped"] = {r: o.skipped for r, o in strategy.outcomes.items() if o.skipped}
            extra["contributors"] = {r: len(o.contributors) for r, o in strategy.outcomes.items()}
            extra["server_timings"] = {
                r: dict(outcome.timings) for r, outcome in strategy.outcomes.items()
            }
            extra["key_holder_request_bytes"] = strategy.request_bytes
            extra["member_bytes"] = strategy.member_bytes
            extra["committee_phases"] = strategy.committee_phases

    return app


def secagg_server_app(num_params: int, rounds: int, stamps: list[float]) -> ServerApp:
    """Legacy ServerApp: FedAvg under SecAgg+ (num_shares 5, threshold 3)."""
    app = ServerApp()

    def evaluate_fn(server_round, parameters, config):  # type: ignore[no-untyped-def]
        stamps.append(time.perf_counter())

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = LegacyFedAvg(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=NUM_PARTICIPANTS,
            min_available_clients=NUM_PARTICIPANTS,
            initial_parameters=ndarrays_to_parameters(initial_arrays(num_params)),
            evaluate_fn=evaluate_fn,
        )
        legacy = LegacyContext(
            context=context, config=ServerConfig(num_rounds=rounds), strategy=strategy
        )
        workflow = DefaultWorkflow(
            fit_workflow=SecAggPlusWorkflow(num_shares=5, reconstruction_threshold=3, timeout=1800)
        )
        workflow(grid, legacy)

    return app


def make_key_dir(key_dir: Path) -> None:
    """Keys for the CKKS mode: the server side sees only public.bin and address.txt."""
    from strategy import generate_keys, seal_to_wallet

    wallet = Wallet.generate()
    keys = generate_keys()
    (key_dir / "public.bin").write_bytes(keys.public_context)
    (key_dir / "secret.sealed").write_bytes(seal_to_wallet(keys.secret_context, wallet.address))
    (key_dir / "wallet.bin").write_bytes(wallet.keypair_bytes())
    (key_dir / "address.txt").write_text(wallet.address)


def make_wallet_dir(wallet_dir: Path) -> None:
    """One wallet per participant (threshold mode): ``<partition>.bin`` and the addresses."""
    wallets = [Wallet.generate() for _ in range(NUM_PARTICIPANTS)]
    for partition_id, wallet in enumerate(wallets):
        (wallet_dir / f"{partition_id}.bin").write_bytes(wallet.keypair_bytes())
    (wallet_dir / "addresses.txt").write_text("".join(f"{w.address}\n" for w in wallets))


def run_mode(mode: str, num_params: int, rounds: int, work_dir: Path) -> dict[str, Any]:
    """Run one mode and return its measurements."""
    log_path = work_dir / f"{mode}-{num_params}.jsonl"
    log_path.unlink(missing_ok=True)
    stamps: list[float] = []
    extra: dict[str, Any] = {}
    timing_mod = client_timing_mod(log_path)
    key_dir, wallet_dir = work_dir / "keys", work_dir / "wallets"
    client_app: ClientApp
    if mode == "secaggplus":
        server_app = secagg_server_app(num_params, rounds, stamps)
        client_app = secagg_client_app([timing_mod, secaggplus_mod])
    else:
        server_app = message_server_app(
            mode, num_params, rounds, stamps, key_dir, wallet_dir, extra
        )
        if mode.startswith("threshold"):
            # A fresh store per run: each run's committee generates its own key.
            member_dir = Path(tempfile.mkdtemp(prefix=f"members-{num_params}-", dir=work_dir))
            client_app = threshold_client_app(timing_mod, wallet_dir, member_dir, log_path)
        else:
            mods = [timing_mod, ckks_mod] if mode == "ckks" else [timing_mod]
            client_app = message_client_app(mods, key_dir if mode == "ckks" else None, log_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=NUM_PARTICIPANTS,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    # stamps[0] is taken before round 1, stamps[r] after round r.
    if len(stamps) != rounds + 1:
        raise RuntimeError(f"{mode} at {num_params} finished {len(stamps) - 1}/{rounds} rounds")
    if extra.get("skipped"):
        raise RuntimeError(f"{mode} at {num_params} skipped rounds: {extra['skipped']}")
    round_times = [b - a for a, b in itertools.pairwise(stamps)]
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    clients = [e for e in entries if "client_s" in e and e["round"] > 1]
    timed_rounds = max(1, rounds - 1)
    result: dict[str, Any] = {
        "num_params": sum(a.size for a in initial_arrays(num_params)),
        "round_times_s": round_times,
        "median_round_time_s": statistics.median(round_times[1:] or round_times),
        "bytes_per_participant_per_round": sum(e.get("bytes", 0) for e in entries)
        / NUM_PARTICIPANTS,
        # Per participant per timed round; participants share the machine's cores.
        "train_s": sum(e["train_s"] for e in clients) / (NUM_PARTICIPANTS * timed_rounds),
        "client_overhead_s": sum(e["client_s"] - e["train_s"] for e in clients)
        / (NUM_PARTICIPANTS * timed_rounds),
    }
    if extra.get("contributors"):
        result["min_contributors"] = min(extra["contributors"].values())
    if extra.get("key_holder_request_bytes"):
        result["key_holder_request_bytes_per_round"] = extra["key_holder_request_bytes"][0]
    if extra.get("server_timings"):
        timed = [t for r, t in extra["server_timings"].items() if r > 1]
        result["server_s"] = _medians(timed)
        holder = [e["key_holder"] for e in entries if "key_holder" in e and e["round"] > 1]
        if holder:
            result["key_holder_s"] = _medians(holder)
    if mode.startswith("threshold"):
        result.update(committee_measurements(extra, entries))
    if extra.get("reference_s"):
        result["reference_s"] = statistics.median(
            t for r, t in extra["reference_s"].items() if r > 1
        )
    return result


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median of each key over ``runs`` (dicts with the same keys)."""
    return {k: statistics.median(run[k] for run in runs) for k in runs[0]}


def committee_measurements(extra: dict[str, Any], entries: list[dict[str, Any]]) -> dict:
    """The threshold mode's key generation, committee phases and member bytes and times."""
    result: dict[str, Any] = {
        "find_members_s": extra["find_members_s"],
        "key_generation_s": extra["key_generation_s"],
    }
    phases = [p for r, p in extra["committee_phases"].items() if r > 1 and p]
    result["committee_phases_s"] = _medians(phases)
    result["max_release_attempts"] = max(p["release_attempts"] for p in phases)
    members = [e for e in entries if "member_node" in e]
    result["member_refusals"] = [e for e in members if e["refused"]]
    # Compute time of one member's answer (store, checks, share), median per message.
    result["member_s"] = {
        action: statistics.median(
            e["seconds"] for e in members if e["action"] == action and e["round"] > 1
        )
        for action in MEMBER_ACTIONS
    }
    sizes = extra["member_bytes"].values()

    def largest(key: str) -> int:
        return max((b[key] for b in sizes if key in b), default=0)

    # Round 1's messages: all members are challenged, the decrypting ones also release.
    challenge = largest(f"{ACTION_CHALLENGE}_received")
    release = largest(f"{ACTION_RELEASE}_received")
    result["member_bytes_per_round"] = {
        "challenge_received": challenge,
        "challenge_sent": largest(f"{ACTION_CHALLENGE}_sent"),
        "release_received": release,
        "release_sent": largest(f"{ACTION_RELEASE}_sent"),
        "decrypting_member_received": challenge + release,
        "members_released": sum(1 for b in sizes if f"{ACTION_RELEASE}_sent" in b),
    }
    result["member_bytes_by_node"] = {str(node): b for node, b in extra["member_bytes"].items()}
    return result


def write_results(results: dict[str, Any]) -> None:
    """Write round_time.json and round_time.md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = (
        "round_time" if results["local_epochs"] == 1 else f"round_time_e{results['local_epochs']}"
    )
    if list(results["modes"]) != list(MODES):
        stem += "_" + "-".join(results["modes"])
    if results["quick"]:
        stem += "_quick"
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Round benchmark",
        "",
        f"{NUM_PARTICIPANTS} participants, Simulation Engine, {results['machine']}, "
        f"{results.get('local_epochs', 1)} local SGD epoch(s) per round. "
        f"Median round time over rounds 2..{results['rounds']}; bytes are serialized "
        "train replies per participant per round. Ratios are against plaintext FedAvg.",
        "",
        "| params | mode | bytes/participant/round | bytes ratio | round time (s) | time ratio |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for modes in results["sizes"].values():
        for mode, row in modes.items():
            bytes_sent = row["bytes_per_participant_per_round"]
            lines.append(
                f"| {row['num_params']:,} | {mode} | {bytes_sent:,.0f} | "
                f"{row['bytes_ratio']:.2f}x | {row['median_round_time_s']:.2f} | "
                f"{row['time_ratio']:.2f}x |"
            )
    lines += [
        "",
        "Where the time goes, in seconds. Client columns: mean per participant per timed "
        f"round ({NUM_PARTICIPANTS} participants share the cores, two at a time); client "
        "work beyond training is CKKS encryption, serialization and hashing for ckks, "
        "the same plus the vector root (Merkle tree) and the commitment's signature for "
        "threshold, masking and secret sharing for SecAgg+. Server and key-holder columns: "
        "median per timed round; the transfer is the key-holder round trip minus its "
        "compute. For threshold, validating also builds each input's Merkle tree (for the "
        "members' spot checks); its committee phases are in the next table.",
        "",
        "| params | mode | local training | client work beyond training | "
        "server validate (hash, parse) | server add | key holder round trip | "
        "key holder verify inputs | key holder add | key holder check aggregate | "
        "decrypt | transfer to key holder |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for modes in results["sizes"].values():
        for mode, row in modes.items():
            server = row.get("server_s", {})
            holder = row.get("key_holder_s", {})
            cells = [f"{row['train_s']:.2f}", f"{row['client_overhead_s']:.2f}"]
            if server and not holder:  # committee: its round trip is in the next table
                cells += [f"{server['validate_s']:.2f}", f"{server['add_s']:.2f}"]
                cells += ["-"] * 6
            elif server:
                transfer = server["key_holder_s"] - sum(holder.values())
                values = [
                    server["validate_s"],
                    server["add_s"],
                    server["key_holder_s"],
                    holder["verify_inputs_s"],
                    holder["add_s"],
                    holder["check_aggregate_s"],
                    holder["decrypt_s"],
                    transfer,
                ]
                cells += [f"{v:.2f}" for v in values]
            else:
                cells += ["-"] * 8
            lines.append(f"| {row['num_params']:,} | {mode} | " + " | ".join(cells) + " |")
    lines.append("")
    for size, modes in results["sizes"].items():
        request = modes.get("ckks", {}).get("key_holder_request_bytes_per_round")
        if request:
            lines.append(
                f"- {size}: aggregator -> key holder decryption request "
                f"{request / 1e6:.1f} MB per round (all committed ciphertexts, for "
                "recomputation)."
            )
    lines += committee_lines(results)
    (RESULTS_DIR / f"{stem}.md").write_text("\n".join(lines) + "\n")


def committee_lines(results: dict[str, Any]) -> list[str]:
    """The .md section on the threshold mode's committee (empty if it did not run)."""
    committee_modes = ("threshold", "threshold_scored")
    rows = [
        (mode, modes[mode])
        for modes in results["sizes"].values()
        for mode in committee_modes
        if mode in modes
    ]
    if not rows:
        return []
    lines = [
        "",
        f"Threshold mode: the committee's decryption ({COMMITTEE_THRESHOLD} of "
        f"{COMMITTEE_SIZE} members, partitions 0..{COMMITTEE_SIZE - 1}), seconds, median "
        "per timed round. Round trip: the strategy's `committee_s`, from the aggregate to "
        "the decrypted sum. It is the challenge exchange (t members, more only if one fails, "
        "receive the manifest and the aggregate's vector root, check them and draw their "
        "leaves), the "
        "aggregator opening each decrypting member's leaves in every input (it builds the inputs' "
        "Merkle trees when it validates their replies, in the server's validate column), "
        "the release exchange (each decrypting member receives the aggregate, checks it "
        "against the root and its openings against the sums, and makes its decryption "
        "share) and combining the shares. Member columns: one member's compute "
        "for one query (loading its store, the checks, the share), median over members; "
        "members answer on the Simulation Engine's workers, two at a time.",
        "",
        "| params | mode | committee round trip | challenge exchange | openings | "
        "release exchange | combine | member: challenge | member: release |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, row in rows:
        phases, member = row["committee_phases_s"], row["member_s"]
        values = [
            row["server_s"]["committee_s"],
            phases["challenge_exchange_s"],
            phases["openings_s"],
            phases["release_exchange_s"],
            phases["combine_s"],
            member[ACTION_CHALLENGE],
            member[ACTION_RELEASE],
        ]
        cells = " | ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {row['num_params']:,} | {mode} | {cells} |")
    lines.append("")
    for mode, row in rows:
        sizes = row["member_bytes_per_round"]
        lines.append(
            f"- {row['num_params']:,}, {mode}: key generation {row['key_generation_s']:.2f} s once "
            f"before round 1 (before it, finding the members took {row['find_members_s']:.2f} s, "
            "mostly the Simulation Engine starting the ClientApps). Each member asked "
            f"receives {sizes['challenge_received'] / 1e6:.3f} MB a round for its challenge "
            f"(manifest and the aggregate's root) and answers {sizes['challenge_sent']:,} B; "
            f"each of the {sizes['members_released']} decrypting members also receives "
            f"{sizes['release_received'] / 1e6:.2f} MB for its release (aggregate, manifest "
            f"and the openings of every input) and sends {sizes['release_sent'] / 1e6:.2f} "
            f"MB (its decryption share): {sizes['decrypting_member_received'] / 1e6:.2f} MB "
            "received per decrypting member per round, serialized, measured in round 1."
        )
    lines += scoring_lines(results)
    return lines


def scoring_lines(results: dict[str, Any]) -> list[str]:
    """Scored against aggregation-only committee rounds, if both ran."""
    lines = []
    for modes in results["sizes"].values():
        if "threshold" not in modes or "threshold_scored" not in modes:
            continue
        plain, scored = modes["threshold"], modes["threshold_scored"]
        extra = (
            scored["member_bytes_per_round"]["release_received"]
            - (plain["member_bytes_per_round"]["release_received"])
        )
        lines.append(
            f"- {scored['num_params']:,}: a scored round (each input's <w_i, g0> decrypted "
            f"with the sum) takes {scored['median_round_time_s']:.2f} s against "
            f"{plain['median_round_time_s']:.2f} s aggregation only, "
            f"{scored['median_round_time_s'] / plain['median_round_time_s']:.2f}x. The "
            f"organisation trains its reference update ({scored['reference_s']:.2f} s) "
            "while the participants train; the aggregator then waited "
            f"{scored['server_s'].get('reference_wait_s', 0.0):.2f} s for it. "
            f"Participants send {scored['bytes_ratio']:.2f}x plaintext "
            f"bytes (aggregation only: {plain['bytes_ratio']:.2f}x); each decrypting member "
            f"receives {extra / 1e6:.2f} MB more (the reference and every input's masks)."
        )
    return ["", *lines] if lines else []


def main() -> None:
    """Parse arguments, run every mode and size, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="100k parameters only (writes round_time*_quick)"
    )
    parser.add_argument("--rounds", type=int, default=8, help="rounds per run (default 8)")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated modes (default: all, {','.join(MODES)}); plaintext, the "
        "baseline, always runs. A subset writes round_time[_e<N>]_<modes>.{json,md}",
    )
    parser.add_argument(
        "--local-epochs",
        type=int,
        default=1,
        help="local SGD epochs per round (default 1; results of other values go to "
        "round_time_e<N>.{json,md})",
    )
    args = parser.parse_args()
    chosen = {m.strip() for m in args.modes.split(",") if m.strip()} | {"plaintext"}
    if chosen - set(MODES):
        parser.error(f"unknown modes {sorted(chosen - set(MODES))}; choose from {MODES}")
    modes = [m for m in MODES if m in chosen]
    os.environ[LOCAL_EPOCHS_ENV] = str(args.local_epochs)
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    results: dict[str, Any] = {
        "participants": NUM_PARTICIPANTS,
        "rounds": args.rounds,
        "local_epochs": args.local_epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "modes": modes,
        "quick": args.quick,
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        (work_dir / "keys").mkdir()
        make_key_dir(work_dir / "keys")
        (work_dir / "wallets").mkdir()
        make_wallet_dir(work_dir / "wallets")
        for num_params in sizes:
            rows = {}
            for mode in modes:
                print(f"== {mode} at {num_params:,} parameters", flush=True)
                rows[mode] = run_mode(mode, num_params, args.rounds, work_dir)
            plain = rows["plaintext"]
            for row in rows.values():
                row["bytes_ratio"] = (
                    row["bytes_per_participant_per_round"]
                    / plain["bytes_per_participant_per_round"]
                )
                row["time_ratio"] = row["median_round_time_s"] / plain["median_round_time_s"]
            results["sizes"][str(num_params)] = rows
            print(json.dumps(rows, indent=2), flush=True)
    write_results(results)


if __name__ == "__main__":
    main()
