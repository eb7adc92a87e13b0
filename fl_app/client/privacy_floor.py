"""The participant's privacy floor: run-config values a node refuses to be run below.

The bundle's hash covers its code and its default run config, but ``flwr run`` can
override any run-config value, and the organisation chooses those overrides. So each
participant's node config fixes a floor that no run config can lower:

- encrypted aggregation always: a run config with ``aggregation`` other than ``ckks``
  is refused;
- with ``dp-max-epsilon = E`` in the node config (the participant asks for DP), a run
  config is refused unless it sets ``dp-enabled = true`` and ``dp-target-epsilon <= E``.

The check reads only the run and node configs, before the bundle is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fl_app.errors import FlAppError

__all__ = [
    "NODE_CONFIG_DP_MAX_EPSILON",
    "PrivacyFloorError",
    "check_privacy_floor",
]

NODE_CONFIG_DP_MAX_EPSILON = "dp-max-epsilon"
"""Node-config key: train only with DP-SGD at a target epsilon of at most this."""

_ENCRYPTED = "ckks"


class PrivacyFloorError(FlAppError):
    """A run config would lower this participant's privacy floor; the run is refused."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_privacy_floor(run_config: Mapping[str, Any], node_config: Mapping[str, Any]) -> None:
    """Refuse a run config that goes below the floor the node config sets.

    Parameters
    ----------
    run_config
        The run's configuration as the SuperNode hands it to the ClientApp.
    node_config
        The participant's own node configuration.

    Raises
    ------
    PrivacyFloorError
        Naming the run-config value and the floor it breaks.
    """
    aggregation = run_config.get("aggregation")
    if aggregation != _ENCRYPTED:
        raise PrivacyFloorError(
            f"run config sets aggregation={aggregation!r}; this node sends only "
            f"CKKS-encrypted updates (aggregation='{_ENCRYPTED}')"
        )
    if NODE_CONFIG_DP_MAX_EPSILON not in node_config:
        return
    limit = _number(node_config[NODE_CONFIG_DP_MAX_EPSILON])
    if limit is None or limit <= 0:
        raise PrivacyFloorError(
            f"node config {NODE_CONFIG_DP_MAX_EPSILON} must be a positive number, "
            f"got {node_config[NODE_CONFIG_DP_MAX_EPSILON]!r}"
        )
    if run_config.get("dp-enabled") is not True:
        raise PrivacyFloorError(
            f"run config turns DP off; this node trains only with DP-SGD at "
            f"epsilon <= {limit:g} ({NODE_CONFIG_DP_MAX_EPSILON})"
        )
    epsilon = _number(run_config.get("dp-target-epsilon"))
    if epsilon is None or not 0 < epsilon <= limit:
        raise PrivacyFloorError(
            f"run config sets dp-target-epsilon={run_config.get('dp-target-epsilon')!r}; "
            f"this node allows at most {limit:g} ({NODE_CONFIG_DP_MAX_EPSILON})"
        )
