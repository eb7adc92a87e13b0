"""ClientApp: the quickstart shape plus ``mods=[ckks_mod]`` and the key-holder queries."""

from __future__ import annotations

from pathlib import Path

from flwr.app import Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from strategy import KeyHolder, Wallet, ckks_mod, register_key_holder

from .task import load_partition, mse, train


def make_client_app(key_dir: Path, key_holder_partition: int = 0) -> ClientApp:
    """Build the ClientApp; the node of ``key_holder_partition`` holds the sealed key."""
    app = ClientApp(mods=[ckks_mod])

    @app.train()
    def train_fn(msg: Message, context: Context) -> Message:
        x, y = load_partition(int(context.node_config["partition-id"]))
        model = train(msg.content["arrays"], x, y, steps=5, lr=0.1)  # type: ignore[arg-type]
        metrics = MetricRecord({"num-examples": len(y), "train-mse": mse(model, x, y)})
        return Message(RecordDict({"arrays": model, "metrics": metrics}), reply_to=msg)

    @app.evaluate()
    def evaluate_fn(msg: Message, context: Context) -> Message:
        x, y = load_partition(int(context.node_config["partition-id"]))
        metrics = MetricRecord({"num-examples": len(y), "mse": mse(msg.content["arrays"], x, y)})  # type: ignore[arg-type]
        return Message(RecordDict({"metrics": metrics}), reply_to=msg)

    def load_key_holder(context: Context) -> KeyHolder | None:
        if int(context.node_config["partition-id"]) != key_holder_partition:
            return None
        wallet = Wallet.from_keypair_file(key_dir / "key_holder.json")
        sealed = (key_dir / "secret_context.sealed").read_bytes()
        return KeyHolder.from_sealed(sealed, wallet, min_inputs=3)

    register_key_holder(app, load_key_holder)
    return app


app = make_client_app(Path("keys"))
