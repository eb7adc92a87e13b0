"""Exact per-round Shapley values of FedAvg participants over all coalitions.

The multi-round reconstruction of Song et al. 2019 ("Profit Allocation for Federated
Learning", IEEE Big Data): in round ``t`` a coalition ``S`` is worth the utility of
``theta_t + sum_{i in S} n_i u_i / sum_{i in S} n_i`` (the empty coalition keeps
``theta_t``), the Shapley value (Shapley 1953) of each participant is computed exactly
over all ``2^K`` coalitions, and a participant's value for the run is its sum over rounds.
Every coalition model is built from the stored updates without retraining and all
``2^K`` of them are evaluated on the test split in one batched forward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from fl_app.fairness.rounds import RoundRecord
from fl_app.ml import TabularData

__all__ = ["CoalitionUtilities", "coalition_masks", "exact_shapley", "round_utilities"]


def coalition_masks(num_players: int) -> np.ndarray:
    """All ``2^K`` coalitions as a boolean matrix; row ``m`` holds the bits of ``m``."""
    index = np.arange(2**num_players)[:, None]
    return ((index >> np.arange(num_players)) & 1).astype(bool)


def exact_shapley(utilities: np.ndarray) -> np.ndarray:
    """Shapley values from the utility of every coalition (indexed by its bit mask).

    ``phi_i = sum_{S not containing i} |S|! (K-|S|-1)! / K! * (v(S + i) - v(S))``.
    """
    num_players = len(utilities).bit_length() - 1
    if 2**num_players != len(utilities):
        raise ValueError(f"{len(utilities)} utilities are not 2^K coalitions")
    index = np.arange(len(utilities))
    sizes = coalition_masks(num_players).sum(axis=1)
    weight = np.array(
        [
            math.factorial(s) * math.factorial(num_players - s - 1) / math.factorial(num_players)
            if s < num_players
            else 0.0
            for s in range(num_players + 1)
        ]
    )
    values = np.empty(num_players)
    for i in range(num_players):
        without = index[(index >> i) & 1 == 0]
        gains = utilities[without | (1 << i)] - utilities[without]
        values[i] = float(weight[sizes[without]] @ gains)
    return values


@dataclass(frozen=True)
class CoalitionUtilities:
    """Utility of every coalition in one round: negative test loss, and test accuracy."""

    neg_loss: np.ndarray
    accuracy: np.ndarray


@torch.no_grad()
def round_utilities(record: RoundRecord, model: nn.Module, test: TabularData) -> CoalitionUtilities:
    """Evaluate the FedAvg model of every coalition of ``record``'s participants.

    ``model`` gives the architecture and buffers; its parameters are not used.
    """
    masks = coalition_masks(record.updates.shape[0]).astype(np.float64)
    weights = masks * record.claimed
    totals = weights.sum(axis=1, keepdims=True)
    mixes = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    params = torch.from_numpy(record.start + mixes @ record.updates).float()

    names, shapes = zip(*((n, p.shape) for n, p in model.named_parameters()), strict=True)
    pieces = torch.split(params, [math.prod(s) for s in shapes], dim=1)
    stacked = {
        n: piece.reshape(len(params), *s) for n, s, piece in zip(names, shapes, pieces, strict=True)
    }
    buffers = dict(model.named_buffers())
    x = torch.from_numpy(test.x)
    y = torch.from_numpy(test.y)

    def forward(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return functional_call(model, (p, buffers), (x,))

    logits = vmap(forward)(stacked)  # (coalitions, examples, classes)
    per_coalition_loss = (
        nn.functional.cross_entropy(
            logits.transpose(1, 2), y.expand(len(params), -1), reduction="none"
        )
        .mean(dim=1)
        .double()
        .numpy()
    )
    accuracy = (logits.argmax(dim=2) == y).double().mean(dim=1).numpy()
    return CoalitionUtilities(-per_coalition_loss, accuracy)
