"""The AFAT kinds are installed engines, and only their roles may run them as jobs."""

from __future__ import annotations

import pytest

from engines.afat.engine import AggregationEngine, RetailPricingEngine
from engines.registry import Registry
from gateway.domain.jobs.policy import may_run
from gateway.messages.common import Role

pytestmark = pytest.mark.unit


def test_entry_points_load_the_afat_engines() -> None:
    registry = Registry.from_entry_points(["afat-aggregate", "afat-pricing"])
    assert isinstance(registry.get("afat-aggregate"), AggregationEngine)
    assert isinstance(registry.get("afat-pricing"), RetailPricingEngine)


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("afat-aggregate", {Role.AGGREGATOR, Role.ESP, Role.FMO}),
        ("afat-pricing", {Role.RETAILER, Role.AGGREGATOR, Role.FMO}),
    ],
)
def test_roles_that_may_run_afat_jobs(kind: str, allowed: set[Role]) -> None:
    assert {role for role in Role if may_run(role, kind)} == allowed
