"""A participant's node refuses other bundles and run configs below its privacy floor."""

from __future__ import annotations

import dataclasses
import hashlib
import types
from typing import Any

import pytest
from flwr.supercore.constant import TaskType
from flwr.supercore.superexec.executor.types import ExecutionSpec, LaunchResultStatus

from fl_app.client.privacy_floor import (
    NODE_CONFIG_DP_MAX_EPSILON,
    PrivacyFloorError,
    check_privacy_floor,
)
from fl_app.client.verified_app import BundleGuard, require_functions
from fl_app.client.verified_superexec import VerifiedExecutor
from fl_app.ipfs.errors import BundleRefusedError

HONEST = b"the task's bundle"
ENCRYPTED: dict[str, Any] = {"aggregation": "ckks", "dp-enabled": False, "dp-target-epsilon": 8.0}


def _guard(run_config: dict[str, Any], node_config: dict[str, Any] | None = None) -> BundleGuard:
    guard = BundleGuard(hashlib.sha256(HONEST).hexdigest())
    guard.run_config, guard.node_config = run_config, node_config or {}
    return guard


def test_plain_aggregation_is_refused_whatever_the_node_config() -> None:
    with pytest.raises(PrivacyFloorError, match="aggregation='plain'"):
        check_privacy_floor({**ENCRYPTED, "aggregation": "plain"}, {})
    with pytest.raises(PrivacyFloorError, match="aggregation=None"):
        check_privacy_floor({}, {})
    check_privacy_floor(ENCRYPTED, {})


@pytest.mark.parametrize(
    ("run_config", "reason"),
    [
        ({**ENCRYPTED, "dp-enabled": False}, "turns DP off"),
        ({**ENCRYPTED, "dp-enabled": True, "dp-target-epsilon": 8.0}, "at most 4"),
        ({**ENCRYPTED, "dp-enabled": True, "dp-target-epsilon": "1"}, "dp-target-epsilon='1'"),
        ({**ENCRYPTED, "dp-enabled": True, "dp-target-epsilon": 0.0}, "at most 4"),
    ],
)
def test_dp_below_the_participants_floor_is_refused(
    run_config: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PrivacyFloorError, match=reason):
        check_privacy_floor(run_config, {NODE_CONFIG_DP_MAX_EPSILON: 4.0})


def test_dp_within_the_floor_is_accepted() -> None:
    run_config = {**ENCRYPTED, "dp-enabled": True, "dp-target-epsilon": 3.5}
    check_privacy_floor(run_config, {NODE_CONFIG_DP_MAX_EPSILON: 4.0})
    check_privacy_floor(run_config, {NODE_CONFIG_DP_MAX_EPSILON: 4})


def test_guard_names_expected_and_received_hashes(capsys: pytest.CaptureFixture[str]) -> None:
    other = b"the organisation's own bundle"
    with pytest.raises(BundleRefusedError) as caught:
        _guard(ENCRYPTED).check(other)
    expected, got = hashlib.sha256(HONEST).hexdigest(), hashlib.sha256(other).hexdigest()
    assert str(caught.value) == f"bundle refused: expected {expected}, got {got}"
    assert capsys.readouterr().err == f"fl-app: bundle refused: expected {expected}, got {got}\n"


def test_guard_refuses_the_honest_bundle_with_a_run_config_below_the_floor() -> None:
    with pytest.raises(BundleRefusedError, match="run refused: run config sets aggregation"):
        _guard({**ENCRYPTED, "aggregation": "plain"}).check(HONEST)
    with pytest.raises(BundleRefusedError, match="no run context"):
        BundleGuard(hashlib.sha256(HONEST).hexdigest()).check(HONEST)
    _guard(ENCRYPTED).check(HONEST)


def test_a_flower_without_the_wrapped_steps_is_refused_not_run_unchecked() -> None:
    with pytest.raises(RuntimeError, match="install_from_fab"):
        require_functions(types.ModuleType("flwr_other"), "install_from_fab")


def test_superexec_launches_only_verified_clientapp_processes() -> None:
    executor = VerifiedExecutor("ab" * 32)
    spec = ExecutionSpec(
        task_type=TaskType.CLIENT_APP,
        runtime_api_address="127.0.0.1:9094",
        token="t0k3n",
        insecure=True,
        root_certificates_path=None,
        runtime_dependency_install=True,
        parent_pid=None,
        suppress_output=False,
        task_id=1,
    )
    arguments = executor.arguments(spec)
    assert arguments[arguments.index("--fab-sha256") + 1] == "ab" * 32
    assert "--allow-runtime-dependency-installation" not in arguments
    server_task = dataclasses.replace(spec, task_type=TaskType.SERVER_APP)
    assert executor.launch(server_task).status == LaunchResultStatus.FAILED
