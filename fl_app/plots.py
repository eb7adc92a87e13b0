"""Figures of a run, saved as PNG beside a Markdown report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Figure objects render to files without pyplot's global state or a GUI backend.
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fl_app.run_report import RoundReport

__all__ = ["plot_accuracy", "plot_bytes", "plot_rewards"]


def plot_accuracy(points: Sequence[tuple[int, float]], path: Path) -> Path:
    """Test accuracy of the global model per ``(round, accuracy)`` (round 0: the initial model)."""
    fig = Figure(figsize=(6, 3.5), dpi=120)
    ax = fig.subplots()
    ax.plot([r for r, _ in points], [a for _, a in points], marker="o")
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title("Global model on the organisation's test split")
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    return path


def plot_rewards(
    labels: Sequence[str], scores: Sequence[float], rewards_sol: Sequence[float], path: Path
) -> Path:
    """Contribution score share and reward per participant, side by side."""
    fig = Figure(figsize=(9, 3.5), dpi=120)
    left, right = fig.subplots(1, 2)
    total = sum(scores) or 1.0
    left.bar(labels, [s / total for s in scores], color="tab:blue")
    left.set_title("contribution (share of scores)")
    right.bar(labels, rewards_sol, color="tab:green")
    right.set_title("reward (SOL)")
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=30)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    return path


def plot_bytes(rounds: Sequence[RoundReport], path: Path) -> Path:
    """Bytes each participant sent per round, encrypted, against a plaintext update."""
    trained = [r for r in rounds if r.server_round > 0]
    fig = Figure(figsize=(6, 3.5), dpi=120)
    ax = fig.subplots()
    encrypted = [sum(r.ciphertext_bytes) / max(len(r.ciphertext_bytes), 1) for r in trained]
    ax.plot(
        [r.server_round for r in trained],
        [b / 1e3 for b in encrypted],
        marker="o",
        label="CKKS update (mean)",
    )
    ax.plot(
        [r.server_round for r in trained],
        [r.plaintext_bytes / 1e3 for r in trained],
        linestyle="--",
        label="plaintext float32 update",
    )
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("kB per participant")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Bytes sent per participant per round")
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    return path
