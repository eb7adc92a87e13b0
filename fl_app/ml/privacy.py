"""Client-side differential privacy with Opacus, and a per-participant privacy account.

A participant fixes its noise multiplier once, from its target epsilon and the number of
DP-SGD steps the whole task can take (every round it might be sampled in), so the budget
holds even if it trains in every round. It then reports what it has actually spent,
computed by Opacus' RDP accountant (Mironov 2017) over the steps it has taken.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

# Opacus calls logging.basicConfig() on import, which makes every Flower log line print
# twice; keep the root logger as the application configured it.
_root_handlers = list(logging.getLogger().handlers)
from opacus import PrivacyEngine  # noqa: E402
from opacus.accountants import RDPAccountant  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

logging.getLogger().handlers[:] = _root_handlers

__all__ = ["DpAccount", "make_private"]


@dataclass(kw_only=True)
class DpAccount:
    """DP-SGD parameters of one participant and the steps it has taken so far."""

    noise_multiplier: float
    sample_rate: float
    max_grad_norm: float
    delta: float
    steps: int = 0

    @classmethod
    def plan(
        cls,
        *,
        target_epsilon: float,
        delta: float,
        max_grad_norm: float,
        num_examples: int,
        batch_size: int,
        epochs_per_round: int,
        num_rounds: int,
    ) -> DpAccount:
        """Choose the noise multiplier that keeps the whole task within ``target_epsilon``."""
        sample_rate = min(1.0, batch_size / num_examples)
        steps = num_rounds * epochs_per_round * math.ceil(1 / sample_rate)
        sigma = get_noise_multiplier(
            target_epsilon=target_epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant="rdp",
        )
        return cls(
            noise_multiplier=sigma,
            sample_rate=sample_rate,
            max_grad_norm=max_grad_norm,
            delta=delta,
        )

    def spent(self) -> float:
        """Epsilon spent over all steps taken so far, at this account's delta."""
        if self.steps == 0:
            return 0.0
        accountant = RDPAccountant()
        accountant.history = [(self.noise_multiplier, self.sample_rate, self.steps)]
        return float(accountant.get_epsilon(delta=self.delta))


def make_private(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    *,
    dp: DpAccount,
    epochs: int,
    generator: torch.Generator,
) -> tuple[nn.Module, torch.optim.Optimizer, DataLoader]:
    """Wrap model, optimiser and loader for DP-SGD and charge ``epochs`` of steps to ``dp``.

    The wrapped module shares its parameters with ``model``, so training it trains
    ``model``.
    """
    engine = PrivacyEngine(accountant="rdp")
    with warnings.catch_warnings():
        # Opacus warns that its RNG is not cryptographically secure; that matters for
        # production deployments and is said in the README, not on every round.
        warnings.simplefilter("ignore")
        module, optimizer, private_loader = engine.make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=dp.noise_multiplier,
            max_grad_norm=dp.max_grad_norm,
            poisson_sampling=True,
            noise_generator=generator,
        )
    dp.steps += epochs * len(private_loader)
    return module, optimizer, private_loader
