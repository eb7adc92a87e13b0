"""ClientApp: the quickstart shape plus ``mods=[ckks_mod]`` and the key-holder queries.

Every node runs it; the key holder's node is the one whose SuperNode has the node config
``ckks-sealed-secret`` and ``wallet-keypair`` (on the Simulation Engine, the environment
variables ``CKKS_SEALED_SECRET`` and ``CKKS_WALLET_KEYPAIR`` name them for partition 0).
"""

from __future__ import annotations

from flwr.app import Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from strategy import ckks_mod, register_key_holder

from .task import load_partition, mse, train

app = ClientApp(mods=[ckks_mod])


@app.train()
def train_fn(msg: Message, context: Context) -> Message:
    """Five steps of gradient descent on this node's partition."""
    x, y = load_partition(int(context.node_config["partition-id"]))
    model = train(msg.content["arrays"], x, y, steps=5, lr=0.1)  # type: ignore[arg-type]
    metrics = MetricRecord({"num-examples": len(y), "train-mse": mse(model, x, y)})
    return Message(RecordDict({"arrays": model, "metrics": metrics}), reply_to=msg)


@app.evaluate()
def evaluate_fn(msg: Message, context: Context) -> Message:
    """Mean squared error of the global model on this node's partition."""
    x, y = load_partition(int(context.node_config["partition-id"]))
    metrics = MetricRecord({"num-examples": len(y), "mse": mse(msg.content["arrays"], x, y)})  # type: ignore[arg-type]
    return Message(RecordDict({"metrics": metrics}), reply_to=msg)


register_key_holder(app)
