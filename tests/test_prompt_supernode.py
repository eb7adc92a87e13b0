"""The participant's SuperNode: Flower's, with its message loop's waits capped."""

from __future__ import annotations

import time

import pytest

from fl_app.client.prompt_supernode import capped_time


def test_sleeps_are_capped_and_every_other_clock_function_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    clock = capped_time(0.2)
    clock.sleep(3)  # Flower's idle wait
    clock.sleep(0.05)
    assert slept == [0.2, 0.05]
    assert clock.monotonic is time.monotonic and clock.time is time.time


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        capped_time(0)
