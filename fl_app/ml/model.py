"""A small MLP for tabular data, with local training and evaluation loops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fl_app.ml.data import TabularData

if TYPE_CHECKING:
    from fl_app.ml.privacy import DpAccount

__all__ = ["EvalResult", "TabularMLP", "TrainResult", "build_model", "evaluate", "train"]


class TabularMLP(nn.Module):
    """Two-layer perceptron whose input normalisation travels with its weights.

    ``mean`` and ``std`` are buffers set by the organisation from its reference data, so
    every participant scales features the same way without seeing anyone else's data.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, num_features: int, num_classes: int, hidden_units: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.hidden = nn.Linear(num_features, hidden_units)
        self.out = nn.Linear(hidden_units, num_classes)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> TabularMLP:
        """Rebuild a model from its state dict; the layer sizes follow from the shapes."""
        hidden_units, num_features = state["hidden.weight"].shape
        model = cls(num_features, state["out.weight"].shape[0], hidden_units)
        model.load_state_dict(state)
        return model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        return self.out(torch.relu(self.hidden(x)))


def build_model(reference: TabularData, *, hidden_units: int, seed: int) -> TabularMLP:
    """Initialise the global model, normalised by the organisation's reference data."""
    torch.manual_seed(seed)
    model = TabularMLP(reference.x.shape[1], reference.num_classes, hidden_units)
    std = reference.x.std(axis=0)
    with torch.no_grad():
        model.mean.copy_(torch.from_numpy(reference.x.mean(axis=0)))
        model.std.copy_(torch.from_numpy(np.where(std > 1e-6, std, 1.0).astype(np.float32)))
    return model


@dataclass(frozen=True)
class TrainResult:
    """Mean training loss of the last local epoch, and the privacy spent (if DP is on)."""

    loss: float
    epsilon: float | None


def train(
    model: TabularMLP,
    data: TabularData,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    dp: DpAccount | None = None,
) -> TrainResult:
    """Train ``model`` in place with SGD on one participant's data.

    With ``dp`` set, training runs through Opacus DP-SGD (Abadi et al. 2016) with Poisson
    sampling, and the returned epsilon is the total spent by this participant so far.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(data.x), torch.from_numpy(data.y)),
        batch_size=min(batch_size, len(data)),
        shuffle=True,
        generator=generator,
    )
    optimizer: torch.optim.Optimizer = torch.optim.SGD(
        model.parameters(), lr=learning_rate, momentum=0.9
    )
    module: nn.Module = model
    if dp is not None:
        from fl_app.ml.privacy import make_private  # opacus: seconds to import, DP runs only

        module, optimizer, loader = make_private(
            model, optimizer, loader, dp=dp, epochs=epochs, generator=generator
        )
    criterion = nn.CrossEntropyLoss()
    module.train()
    epoch_loss = 0.0
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            if len(y) == 0:  # Poisson sampling can draw an empty batch
                continue
            optimizer.zero_grad()
            loss = criterion(module(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            count += len(y)
        epoch_loss = total / max(count, 1)
    epsilon = dp.spent() if dp is not None else None
    return TrainResult(epoch_loss, epsilon)


@dataclass(frozen=True)
class EvalResult:
    """Mean cross-entropy loss and accuracy on a data set."""

    loss: float
    accuracy: float


@torch.no_grad()
def evaluate(model: nn.Module, data: TabularData) -> EvalResult:
    """Evaluate ``model`` on ``data`` in one batch (tabular sets are small)."""
    model.eval()
    logits = model(torch.from_numpy(data.x))
    target = torch.from_numpy(data.y)
    loss = nn.functional.cross_entropy(logits, target).item()
    accuracy = (logits.argmax(dim=1) == target).float().mean().item()
    return EvalResult(loss, accuracy)
