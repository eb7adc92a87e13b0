"""Run settings: defaults match pyproject.toml, bad values give one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fl_app.errors import ConfigError
from fl_app.settings import RunSettings

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_defaults_match_the_flower_app_config_in_pyproject() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["tool"]["flwr"]["app"]["config"]
    assert RunSettings().to_run_config() == declared


def test_run_config_strings_are_coerced_to_field_types() -> None:
    settings = RunSettings.from_run_config(
        {"num-server-rounds": "4", "learning-rate": "0.1", "dp-enabled": "true"}
    )
    assert (settings.num_server_rounds, settings.learning_rate, settings.dp_enabled) == (
        4,
        0.1,
        True,
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"learning-rate": -1}, "'learning-rate' must be positive"),
        ({"dataset": "mnist"}, "'dataset' must be one of breast_cancer, digits, wine"),
        ({"fraction-train": 1.5}, "'fraction-train' must be in [0, 1]"),
        ({"num-server-rounds": "many"}, "'num-server-rounds' must be int"),
        ({"lerning-rate": 0.1}, "unknown run config key(s) lerning-rate"),
        ({"dp-delta": 1.0}, "'dp-delta' must be in (0, 1)"),
    ],
)
def test_bad_config_value_names_the_problem(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RunSettings.from_run_config(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
