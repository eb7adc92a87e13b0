"""ServerApp: the quickstart shape with ``FedAvg`` swapped for ``EncryptedFedAvg``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Result

from strategy import EncryptedFedAvg

from .task import initial_model


def make_server_app(
    key_dir: Path, num_rounds: int = 2, on_result: Callable[[Result], None] | None = None
) -> ServerApp:
    """Build the ServerApp; it reads only the public context and the key holder's address."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = EncryptedFedAvg(
            public_context=(key_dir / "public_context.bin").read_bytes(),
            task_id="quickstart-encrypted",
            key_holder_wallet=(key_dir / "key_holder.address").read_text().strip(),
            min_decrypt_inputs=3,
            # A round needs three updates to be decrypted: wait for three nodes.
            min_available_nodes=3,
            fraction_evaluate=1.0,
        )
        result = strategy.start(
            grid=grid,
            initial_arrays=initial_model(),
            num_rounds=num_rounds,
            timeout=120.0,
            train_config=ConfigRecord(),
        )
        if on_result is not None:
            on_result(result)

    return app


app = make_server_app(Path("keys"))


def final_arrays(result: Result) -> ArrayRecord:
    """The trained model of a run."""
    return result.arrays
