"""Keep a dashboard of any task current from the chain and IPFS alone.

The demo feeds its dashboard from inside the run; a task run elsewhere (by
``fl-app server start`` or another organisation) is watched from outside instead: the
task, stake and round accounts come from the chain, and each recorded round's metrics
from the manifest its CID names on IPFS (fetched once, verified against the CID).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from solders.pubkey import Pubkey

from fl_app.chain import ChainError, StakeAccount, StakingClient
from fl_app.dashboard.state import DashboardState
from fl_app.errors import FlAppError
from fl_app.ipfs.content import ContentSource, fetch_manifest

__all__ = ["TaskFeed"]

_log = logging.getLogger(__name__)

StakeLister = Callable[[], Sequence[StakeAccount]]
"""Every stake account of the task (``getProgramAccounts`` on a cluster)."""


class TaskFeed:
    """Polls the chain and IPFS for one task and tells a :class:`DashboardState`.

    Parameters
    ----------
    state
        The dashboard to feed; it reads the task's accounts itself through ``client``.
    client
        The staking program's client on the task's cluster.
    task
        The task's address.
    stakes
        Lists the task's stake accounts.
    source
        Where manifests are fetched from (a Kubo RPC client or a gateway).
    interval_s
        Seconds between polls while the feed runs in the background.
    """

    def __init__(
        self,
        state: DashboardState,
        *,
        client: StakingClient,
        task: Pubkey,
        stakes: StakeLister,
        source: ContentSource,
        interval_s: float = 2.0,
    ) -> None:
        self.state = state
        self._client = client
        self._task = task
        self._stakes = stakes
        self._source = source
        self._interval_s = interval_s
        self._fetched: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        state.watch(client, task)

    def refresh(self) -> None:
        """Read the stakes and any newly recorded round's manifest once.

        Raises
        ------
        FlAppError
            If the chain or IPFS cannot be read, or a manifest is malformed.
        """
        self.state.record_stakes({str(s.participant): s.amount for s in self._stakes()})
        recorded = self._client.task(self._task).rounds_recorded
        for index in range(recorded):
            cid = self._client.round(self._task, index).manifest_cid
            if cid in self._fetched:
                continue
            metrics = fetch_manifest(self._source, cid).get("metrics") or {}
            accuracy, loss = metrics.get("test_accuracy"), metrics.get("test_loss")
            if isinstance(accuracy, float | int) and isinstance(loss, float | int):
                self.state.record_round_metrics(index + 1, accuracy=accuracy, loss=loss)
            self._fetched.add(cid)

    def start(self) -> TaskFeed:
        """Poll in a background thread until `stop`; a failed poll is retried."""
        self._thread = threading.Thread(target=self._run, name="task-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait for the thread to finish its current poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except (FlAppError, ChainError, ValueError) as err:
                _log.warning("task dashboard: %s (retrying)", err)
            self._stop.wait(self._interval_s)
