"""The committee mode on Flower's Simulation Engine: ClientApps in Ray workers, the
ServerApp running key generation through them, then rounds decrypted by the committee."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from flwr.serverapp.strategy import Result
from flwr.simulation import run_simulation

from strategy import EncryptedFedAvg, Wallet
from strategy.ckks import flatten_arrays
from tests import committee_simulation_app as app

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_committee_of_participants_decrypts_every_round_on_the_simulation_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(app.APP_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    addresses = app.write_wallets(tmp_path)
    finished: list[tuple[Result, EncryptedFedAvg]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        run_simulation(
            server_app=app.make_server_app(
                Wallet.generate().address, rounds=2, on_result=lambda r, s: finished.append((r, s))
            ),
            client_app=app.client_app,
            num_supernodes=app.NUM_NODES,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {"logging_level": "ERROR", "log_to_driver": False},
            },
        )
    assert len(finished) == 1
    result, strategy = finished[0]
    expected = app.expected_fedavg(list(range(app.NUM_NODES)))
    assert np.max(np.abs(flatten_arrays(result.arrays) - expected)) < 1e-5
    members = {
        Wallet.from_keypair_file(tmp_path / "wallets" / f"{p}.json").public_key
        for p in range(app.MEMBERS)
    }
    for server_round in (1, 2):
        outcome = strategy.outcomes[server_round]
        assert not outcome.skipped
        assert len(outcome.attestations) == app.THRESHOLD
        assert {a.signer for a in outcome.attestations} <= members
    # Every member, and only they, kept a key share in its own store.
    stores = sorted(p.name for p in (tmp_path / "members").iterdir())
    assert stores == [str(p) for p in range(app.MEMBERS)]
    assert all(addresses[int(p)] in next((tmp_path / "members" / p).iterdir()).name for p in stores)
