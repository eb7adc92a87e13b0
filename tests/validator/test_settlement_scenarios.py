"""The staking scenarios on every chain: embedded, local service, solana-test-validator."""

from __future__ import annotations

import pytest

from tests.validator import scenarios

pytestmark = pytest.mark.filterwarnings("ignore:The `repr_ns` argument:DeprecationWarning")


def test_full_task_settles_every_lamport(chain: scenarios.Chain) -> None:
    results = scenarios.run_full_task(chain)
    assert all(result.ok and result.fee > 0 and result.logs for result in results.values())


def test_round_record_by_wrong_signer_is_refused(chain: scenarios.Chain) -> None:
    scenarios.run_wrong_signer(chain)


def test_claim_needs_settlement_and_happens_once(chain: scenarios.Chain) -> None:
    scenarios.run_claim_rules(chain)


def test_close_needs_settlement_and_every_claim(chain: scenarios.Chain) -> None:
    scenarios.run_close_rules(chain)


def test_slash_over_the_task_limit_is_refused(chain: scenarios.Chain) -> None:
    scenarios.run_over_limit_slash(chain)


def test_expire_only_after_deadline_and_grace(chain: scenarios.Chain) -> None:
    scenarios.run_expire(chain)


def test_slash_never_reaches_the_authority(chain: scenarios.Chain) -> None:
    scenarios.run_slash_never_reaches_authority(chain)
