"""ServerApp: the quickstart shape with ``FedAvg`` swapped for ``EncryptedFedAvg``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Result

from strategy import EncryptedFedAvg

from .make_keys import default_key_dir
from .task import initial_model


def make_server_app(
    key_dir: Path | None = None,
    num_rounds: int = 2,
    on_result: Callable[[Result], None] | None = None,
) -> ServerApp:
    """Build the ServerApp; it reads only the public context and the key holder's address."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        keys = key_dir or default_key_dir()
        strategy = EncryptedFedAvg(
            public_context=(keys / "public_context.bin").read_bytes(),
            task_id="quickstart-encrypted",
            key_holder_wallet=(keys / "key_holder.address").read_text().strip(),
            min_decrypt_inputs=3,
            # A round needs three updates to be decrypted: wait for three nodes.
            min_available_nodes=3,
            fraction_evaluate=1.0,
        )
        result = strategy.start(
            grid=grid,
            initial_arrays=initial_model(),
            num_rounds=int(context.run_config.get("num-server-rounds", num_rounds)),
        )
        if on_result is not None:
            on_result(result)

    return app


app = make_server_app()
