"""What aggregating one round produced, as one typed value per round.

The aggregation strategies record a :class:`RoundOutcome` for every round, aggregated or
skipped; reports, manifests and on-chain records read it from ``strategy.outcomes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from logging import WARNING

import numpy as np
from flwr.app import ArrayRecord, Message, MetricRecord
from flwr.common.logger import log
from flwr.serverapp.strategy import FedAvg

from .attestation import Attestation
from .contribution import RoundScalars
from .manifest import RoundManifest
from .threshold.scoring import DecryptedScores

__all__ = ["ReportingFedAvg", "RoundOutcome"]


@dataclass(frozen=True, kw_only=True)
class RoundOutcome:
    """The result of one round's aggregation, beyond the new global model.

    Participants are named by string: Flower node ids by the aggregation strategies,
    wallet addresses once a stake gate has mapped them.

    Attributes
    ----------
    server_round : int
        The round.
    skipped : str
        Why the round was skipped (the global model is unchanged); empty if aggregated.
    contributors : tuple[str, ...]
        Participants whose updates were aggregated, in manifest order.
    manifest : RoundManifest | None
        Commitments of the aggregated encrypted updates.
    scalars : Mapping[str, RoundScalars]
        Decrypted contribution scalars by participant (scored rounds only).
    reference_norm : float
        ``||g0||`` of a scored round, 0.0 otherwise.
    reference_update : numpy.ndarray | None
        The committed reference update ``g0`` of a scored round (publish it).
    ciphertext_bytes : tuple[int, ...]
        Serialized ciphertext bytes of each aggregated update.
    timings : Mapping[str, float]
        Wall seconds per aggregation phase, for operators and benchmarks.
    attestations : tuple[Attestation, ...]
        The decryptors' signatures of the decrypted sum's contributors (their wallets):
        the key holder's, or those of the committee members that released a share;
        without the task's threshold of them the chain refuses to record the round.
    decrypted_scalars : numpy.ndarray | None
        ``[<w_i, g0>, ||w_i||^2]`` per aggregated input, in manifest order, as the key
        holder decrypted them (scored rounds only); ``scalars`` derive from them.
    scores_attestation : Attestation | None
        The key holder's signature of ``decrypted_scalars`` (see
        `strategy.attestation.scores_message`), which its final attestation checks.
    committee_scores : DecryptedScores | None
        What a committee decrypted of a scored round: body parts, each decrypting
        member's shares and signatures; ``inner_products()`` are the ``<w_i, g0>``
        that ``scalars`` derive from.
    """

    server_round: int
    skipped: str = ""
    contributors: tuple[str, ...] = ()
    manifest: RoundManifest | None = None
    scalars: Mapping[str, RoundScalars] = field(default_factory=dict)
    reference_norm: float = 0.0
    reference_update: np.ndarray | None = None
    ciphertext_bytes: tuple[int, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    attestations: tuple[Attestation, ...] = ()
    decrypted_scalars: np.ndarray | None = None
    scores_attestation: Attestation | None = None
    committee_scores: DecryptedScores | None = None

    def renamed(self, names: Mapping[str, str]) -> RoundOutcome:
        """The same outcome with its participants renamed (node id -> wallet)."""
        return replace(
            self,
            contributors=tuple(names[c] for c in self.contributors),
            scalars={names[p]: x for p, x in self.scalars.items()},
        )


class ReportingFedAvg(FedAvg):
    """Flower's ``FedAvg`` that records a :class:`RoundOutcome` for every round."""

    def __init__(self, **fedavg_kwargs: object) -> None:
        super().__init__(**fedavg_kwargs)  # type: ignore[arg-type]
        self.outcomes: dict[int, RoundOutcome] = {}
        """What each round's aggregation produced, by round."""

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """FedAvg's aggregation; the round is skipped when it aggregates nothing."""
        replies = list(replies)
        arrays, metrics = super().aggregate_train(server_round, replies)
        if arrays is None:
            self._skip(server_round, "no valid train reply")
        else:
            self.outcomes[server_round] = RoundOutcome(
                server_round=server_round,
                contributors=tuple(
                    str(r.metadata.src_node_id) for r in replies if not r.has_error()
                ),
            )
        return arrays, metrics

    def _skip(self, server_round: int, reason: str) -> None:
        self.outcomes[server_round] = RoundOutcome(server_round=server_round, skipped=reason)
        log(WARNING, "Round %d skipped: %s", server_round, reason)
