"""Typed run settings, read once from Flower's run config and validated.

The defaults below are the ones declared in ``[tool.flwr.app.config]`` of
``pyproject.toml``; a test keeps the two identical.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from fl_app.errors import ConfigError

__all__ = ["AGGREGATIONS", "DATASETS", "DECRYPTIONS", "PARTITIONINGS", "RunSettings"]

AGGREGATIONS = ("ckks", "plain")
DECRYPTIONS = ("committee", "key-holder")
DATASETS = ("breast_cancer", "digits", "wine")
PARTITIONINGS = ("iid", "dirichlet")


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything a federated run needs to know, with the values checked.

    Field names use underscores; the run-config keys are the same names with
    hyphens (``num_server_rounds`` is ``num-server-rounds``).

    ``ckks_weight_scale`` multiplies each participant's example count before it weights
    the encrypted update; weighted sums must stay inside the CKKS plaintext bound, so it
    should be about the inverse of the largest local data set.

    ``ckks_decryption`` says who can decrypt a sum: a ``committee`` of
    ``committee_size`` participants, ``committee_threshold`` of whom must take part
    (threshold CKKS; no single party holds the key), or one ``key-holder`` participant
    holding the whole TenSEAL secret key (a consortium that trusts it). A task bound to
    the chain takes it from the task account.

    ``contribution_scoring`` scores every round against the organisation's reference
    update (the task's CKKS keys must then be of the scoring profile).

    ``task_address`` binds the run to an on-chain task (Deployment Engine runs): the
    server then reads the task from the cluster at ``chain_url``, fetches the public
    context from the IPFS daemon at ``ipfs_api`` by the CID on chain, admits only staked
    nodes, and records every round signed by the keypair file ``authority_keypair``.

    ``node_wait_timeout`` is how long the server waits before the first round for
    ``min_nodes`` staked participants to connect and prove their stake;
    ``stake_proof_timeout`` how long each round waits for the connected nodes' proofs.
    A round short of nodes, proofs or valid inputs is skipped and the run goes on.
    """

    dataset: str = "breast_cancer"
    num_server_rounds: int = 10
    fraction_train: float = 1.0
    fraction_evaluate: float = 0.0
    min_nodes: int = 2
    local_epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 0.05
    partitioning: str = "dirichlet"
    dirichlet_alpha: float = 0.5
    seed: int = 42
    hidden_units: int = 32
    dp_enabled: bool = False
    dp_target_epsilon: float = 8.0
    dp_delta: float = 1e-5
    dp_max_grad_norm: float = 1.0
    aggregation: str = "ckks"
    ckks_min_inputs: int = 3
    ckks_weight_scale: float = 0.01
    ckks_public_context: str = ""
    ckks_key_holder: str = ""
    ckks_decryption: str = "committee"
    committee_size: int = 5
    committee_threshold: int = 3
    contribution_scoring: bool = True
    task_id: str = "local-task"
    task_address: str = ""
    chain_url: str = ""
    ipfs_api: str = ""
    authority_keypair: str = ""
    node_wait_timeout: float = 600.0
    stake_proof_timeout: float = 300.0

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("partitioning", self.partitioning, PARTITIONINGS)
        _check_choice("aggregation", self.aggregation, AGGREGATIONS)
        _check_choice("ckks_decryption", self.ckks_decryption, DECRYPTIONS)
        if not 2 * self.committee_threshold > self.committee_size >= self.committee_threshold >= 2:
            raise ConfigError(
                f"run config 'committee-threshold' {self.committee_threshold} of "
                f"'committee-size' {self.committee_size} must be a strict majority of at "
                "least 2 (n / 2 < t <= n): two disjoint sets of members could otherwise "
                "decrypt two sums of one round"
            )
        if self.task_address and not (self.chain_url and self.ipfs_api and self.authority_keypair):
            raise ConfigError(
                "run config 'task-address' needs 'chain-url', 'ipfs-api' and 'authority-keypair'"
            )
        if self.ckks_min_inputs < 2:
            raise ConfigError(
                f"run config 'ckks-min-inputs' must be at least 2, got {self.ckks_min_inputs}"
            )
        for name in (
            "num_server_rounds",
            "local_epochs",
            "batch_size",
            "hidden_units",
            "min_nodes",
        ):
            _check_positive(name, getattr(self, name))
        for name in (
            "learning_rate",
            "dirichlet_alpha",
            "dp_target_epsilon",
            "dp_max_grad_norm",
            "ckks_weight_scale",
            "node_wait_timeout",
            "stake_proof_timeout",
        ):
            _check_positive(name, getattr(self, name))
        for name in ("fraction_train", "fraction_evaluate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"run config '{_key(name)}' must be in [0, 1], got {value}")
        if self.fraction_train == 0.0:
            raise ConfigError("run config 'fraction-train' must be above 0: nothing would train")
        if not 0.0 < self.dp_delta < 1.0:
            raise ConfigError(f"run config 'dp-delta' must be in (0, 1), got {self.dp_delta}")

    @classmethod
    def from_run_config(
        cls, run_config: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
    ) -> RunSettings:
        """Build settings from a Flower run config (hyphenated keys).

        Unknown keys raise :class:`ConfigError` so that a typo is not silently ignored;
        missing keys take the defaults.
        """
        merged = {**run_config, **(overrides or {})}
        known = {_key(f.name): f for f in fields(cls)}
        unknown = sorted(set(merged) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown run config key(s) {', '.join(unknown)}; known keys: {', '.join(known)}"
            )
        values = {
            known[key].name: _coerce(key, value, type(getattr(cls(), known[key].name)))
            for key, value in merged.items()
        }
        return cls(**values)

    def check_sampling(self, num_nodes: int) -> None:
        """Refuse settings under which no round over ``num_nodes`` nodes can be aggregated.

        A round samples ``max(int(num_nodes * fraction_train), min_nodes)`` nodes; an
        encrypted round needs ``ckks_min_inputs`` of them.

        Raises
        ------
        ConfigError
            If every round would be skipped.
        """
        if self.min_nodes > num_nodes:
            raise ConfigError(
                f"run config 'min-nodes' is {self.min_nodes} but only {num_nodes} "
                "participant(s) can take part: lower it or add participants"
            )
        if self.aggregation != "ckks":
            return
        if num_nodes < self.ckks_min_inputs:
            raise ConfigError(
                f"run config 'ckks-min-inputs' is {self.ckks_min_inputs} but only "
                f"{num_nodes} participant(s) can take part: every round would be skipped; "
                "add participants or lower it (at least 2)"
            )
        sampled = min(max(int(num_nodes * self.fraction_train), self.min_nodes), num_nodes)
        if sampled < self.ckks_min_inputs:
            needed = math.ceil(100 * self.ckks_min_inputs / num_nodes) / 100
            raise ConfigError(
                f"run config 'fraction-train' {self.fraction_train:g} samples {sampled} of "
                f"{num_nodes} participant(s), fewer than 'ckks-min-inputs' "
                f"{self.ckks_min_inputs}: every round would be skipped; raise "
                f"'fraction-train' to at least {needed:.2g} or 'min-nodes' to "
                f"{self.ckks_min_inputs}"
            )

    def training_seed(self, server_round: int, partition: int) -> int:
        """Seed of one participant's local training in one round.

        The organisation's reference update uses the same rule, so it trains exactly as a
        participant would.
        """
        return self.seed * 100_003 + server_round * 1_009 + partition

    def to_run_config(self) -> dict[str, Any]:
        """Return the settings as a Flower run config (hyphenated keys)."""
        return {_key(k): v for k, v in dataclasses.asdict(self).items()}


def _key(field_name: str) -> str:
    return field_name.replace("_", "-")


def _coerce(key: str, value: Any, kind: type) -> Any:
    # Flower parses TOML and `--run-config` strings; accept ints for floats, nothing looser.
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str and isinstance(value, str):
        return value
    raise ConfigError(f"run config '{key}' must be {kind.__name__}, got {value!r}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(
            f"run config '{_key(name)}' must be one of {', '.join(choices)}, got {value!r}"
        )


def _check_positive(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"run config '{_key(name)}' must be positive, got {value}")
