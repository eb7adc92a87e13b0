"""Synthetic linear-regression task, small enough for a test."""

from __future__ import annotations

import numpy as np
from flwr.app import Array, ArrayRecord

NUM_FEATURES = 20
TRUE_WEIGHTS = np.linspace(-1.0, 1.0, NUM_FEATURES)


def load_partition(partition_id: int, num_examples: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of one participant (its size varies with its id)."""
    rng = np.random.default_rng(partition_id)
    x = rng.normal(size=(num_examples + 16 * partition_id, NUM_FEATURES))
    y = x @ TRUE_WEIGHTS + 0.5 + rng.normal(scale=0.1, size=len(x))
    return x, y


def initial_model() -> ArrayRecord:
    """Zero weights and bias."""
    return ArrayRecord(
        {
            "weight": Array(np.zeros(NUM_FEATURES, np.float32)),
            "bias": Array(np.zeros(1, np.float32)),
        }
    )


def train(model: ArrayRecord, x: np.ndarray, y: np.ndarray, steps: int, lr: float) -> ArrayRecord:
    """Full-batch gradient descent on the squared error."""
    w = model["weight"].numpy().astype(np.float64)
    b = model["bias"].numpy().astype(np.float64)
    for _ in range(steps):
        error = x @ w + b - y
        w -= lr * x.T @ error / len(y)
        b -= lr * np.array([error.mean()])
    return ArrayRecord({"weight": Array(w.astype(np.float32)), "bias": Array(b.astype(np.float32))})


def mse(model: ArrayRecord, x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of the model."""
    prediction = x @ model["weight"].numpy() + model["bias"].numpy()
    return float(np.mean((prediction - y) ** 2))
