"""The task's ClientApp: local training (optionally DP-SGD), CKKS encryption, evaluation.

This file is the code that touches a participant's data. It travels only inside the
task's Flower App Bundle, whose SHA-256 the task account records; a participant's node
refuses any other bundle before importing it. The training, DP and encryption code it
calls comes from the ``fl_app`` and ``strategy`` packages the participant installs from
the package index.

Under process isolation every message a node receives runs in a fresh ClientApp
process. Stake proofs and decryptions need no training libraries, so torch, opacus and
scikit-learn load only when a train or evaluate message arrives (``fl_app.ml`` loads its
parts on first use).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from fl_app import ml, payload
from fl_app.client.behaviour import FREE_RIDER_CLAIMED_EXAMPLES, Behaviour, flip_labels
from fl_app.errors import DataError
from fl_app.settings import RunSettings
from strategy import register_key_holder, signing_ckks_mod
from strategy.ckks_mod import (
    CommitteeLoader,
    KeptDirLoader,
    committee_from_node_config,
    kept_dir_from_node_config,
)
from strategy.key_holder_app import KeyHolderLoader, key_holder_from_node_config
from strategy.stake_gate import WalletLoader, register_stake_prover, wallet_from_node_config
from strategy.threshold.member_app import (
    MemberLoader,
    member_from_node_config,
    register_committee_member,
)

if TYPE_CHECKING:
    from fl_app.ml import TabularData
    from fl_app.ml.privacy import DpAccount

__all__ = ["app", "build_client_app", "local_data"]

_DP_STATE = "dp"


def local_data(node_config: Mapping[str, Any], settings: RunSettings) -> TabularData:
    """The participant's data: its own CSV file, or a simulated partition of a bundled set.

    A real participant sets ``data-path`` and ``target-column`` in its node config; a
    simulated one gets ``partition-id`` and ``num-partitions`` from Flower.
    """
    if payload.DATA_PATH in node_config:
        target = node_config.get(payload.TARGET_COLUMN)
        if not isinstance(target, str):
            raise DataError(
                f"node config sets '{payload.DATA_PATH}' but no '{payload.TARGET_COLUMN}'"
            )
        return ml.load_csv(str(node_config[payload.DATA_PATH]), target)
    if payload.PARTITION_ID not in node_config:
        raise DataError(
            f"node config needs '{payload.DATA_PATH}' and '{payload.TARGET_COLUMN}', "
            f"or '{payload.PARTITION_ID}' and '{payload.NUM_PARTITIONS}'"
        )
    return ml.load_partition(
        settings.dataset,
        seed=settings.seed,
        partition_id=int(node_config[payload.PARTITION_ID]),
        num_partitions=int(node_config[payload.NUM_PARTITIONS]),
        partitioning=settings.partitioning,
        alpha=settings.dirichlet_alpha,
    )


def _dp_account(context: Context, settings: RunSettings, num_examples: int) -> DpAccount:
    """The participant's privacy account, kept in its node state across rounds."""
    from fl_app.ml.privacy import DpAccount  # opacus loads only when DP is on

    if _DP_STATE in context.state:
        record = context.state.config_records[_DP_STATE]
        return DpAccount(
            noise_multiplier=_number(record, "noise-multiplier"),
            sample_rate=_number(record, "sample-rate"),
            max_grad_norm=_number(record, "max-grad-norm"),
            delta=_number(record, "delta"),
            steps=int(_number(record, "steps")),
        )
    return DpAccount.plan(
        target_epsilon=settings.dp_target_epsilon,
        delta=settings.dp_delta,
        max_grad_norm=settings.dp_max_grad_norm,
        num_examples=num_examples,
        batch_size=settings.batch_size,
        epochs_per_round=settings.local_epochs,
        num_rounds=settings.num_server_rounds,
    )


def _number(record: ConfigRecord, key: str) -> float:
    value = record[key]
    if not isinstance(value, int | float):
        raise TypeError(f"config record value {key!r} is {type(value).__name__}, not a number")
    return float(value)


def _save_dp_account(context: Context, dp: DpAccount) -> None:
    context.state[_DP_STATE] = ConfigRecord(
        {
            "noise-multiplier": dp.noise_multiplier,
            "sample-rate": dp.sample_rate,
            "max-grad-norm": dp.max_grad_norm,
            "delta": dp.delta,
            "steps": dp.steps,
        }
    )


def _reply(
    msg: Message,
    arrays: ArrayRecord,
    metrics: dict[str, int | float | list[int] | list[float]],
) -> Message:
    content = RecordDict({payload.ARRAYS: arrays, payload.METRICS: MetricRecord(metrics)})
    return Message(content=content, reply_to=msg)


def build_client_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    load_key_holder: KeyHolderLoader = key_holder_from_node_config,
    load_member: MemberLoader = member_from_node_config,
    load_wallet: WalletLoader = wallet_from_node_config,
    load_committee: CommitteeLoader = committee_from_node_config,
    load_kept_dir: KeptDirLoader = kept_dir_from_node_config,
    behaviours: Mapping[int, Behaviour] | None = None,
) -> ClientApp:
    """Create the ClientApp.

    Parameters
    ----------
    overrides
        Values that replace run-config entries (in-process runs). Unless they set
        ``aggregation = "plain"``, every training reply is CKKS-encrypted by ``ckks_mod``.
    load_key_holder
        Finds the key holder's secret on the one node that holds it (by default from the
        node config ``ckks-sealed-secret`` and ``wallet-keypair``).
    load_member
        What a node that sits on the task's decryption committee keeps its share of the
        key with (by default from the node config, see ``member_from_node_config``);
        None on other nodes.
    load_wallet
        The participant's wallet, which proves its stake to the server (by default the
        keypair file named by node config ``wallet-keypair``).
    load_committee
        The participant's pin of the task's committee wallets, read from the chain (by
        default node config ``ckks-committee-wallets``): it encrypts only under a key
        every one of them signed.
    load_kept_dir
        Where the participant keeps the encrypted vectors it sends, to audit its score
        shares later (by default node config ``ckks-own-updates``).
    behaviours
        Adversarial behaviour of simulated partitions (demos and fairness runs); absent
        partitions are honest.
    """
    adversaries = dict(behaviours or {})
    plain = RunSettings.from_run_config({}, overrides).aggregation == "plain"
    mods = [] if plain else [signing_ckks_mod(load_wallet, load_committee, load_kept_dir)]
    app = ClientApp(mods=mods)
    register_key_holder(app, load_key_holder)
    register_committee_member(app, load_member)
    register_stake_prover(app, load_wallet)

    @app.train()
    def train_fn(msg: Message, context: Context) -> Message:
        import torch  # loads with the first train message (see the module docstring)

        torch.set_num_threads(1)
        settings = RunSettings.from_run_config(context.run_config, overrides)
        data = local_data(context.node_config, settings)
        received = msg.content.array_records[payload.ARRAYS]
        partition = int(context.node_config.get(payload.PARTITION_ID, 0))
        behaviour = adversaries.get(partition, Behaviour.HONEST)
        if behaviour is Behaviour.FREE_RIDER:
            return _reply(msg, received, {payload.NUM_EXAMPLES: FREE_RIDER_CLAIMED_EXAMPLES})
        if behaviour is Behaviour.LABEL_FLIPPER:
            data = flip_labels(data)
        config = msg.content.config_records[payload.CONFIG]
        server_round = int(_number(config, payload.SERVER_ROUND))
        dp = _dp_account(context, settings, len(data)) if settings.dp_enabled else None
        model = ml.TabularMLP.from_state_dict(received.to_torch_state_dict())
        result = ml.train(
            model,
            data,
            epochs=settings.local_epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=settings.training_seed(server_round, partition),
            dp=dp,
        )
        metrics: dict[str, int | float | list[int] | list[float]] = {
            payload.TRAIN_LOSS: result.loss,
            payload.NUM_EXAMPLES: len(data),
        }
        if dp is not None:
            _save_dp_account(context, dp)
            metrics[payload.DP_EPSILON] = dp.spent()
        return _reply(msg, ArrayRecord(model.state_dict()), metrics)

    @app.evaluate()
    def evaluate_fn(msg: Message, context: Context) -> Message:
        settings = RunSettings.from_run_config(context.run_config, overrides)
        data = local_data(context.node_config, settings)
        model = ml.TabularMLP.from_state_dict(
            msg.content.array_records[payload.ARRAYS].to_torch_state_dict()
        )
        result = ml.evaluate(model, data)
        metrics = MetricRecord(
            {
                payload.EVAL_LOSS: result.loss,
                payload.EVAL_ACCURACY: result.accuracy,
                payload.NUM_EXAMPLES: len(data),
            }
        )
        return Message(content=RecordDict({payload.METRICS: metrics}), reply_to=msg)

    return app


app = build_client_app()
