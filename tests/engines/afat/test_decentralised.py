"""The decentralised (ADMM) aggregation reaches the centralised optimum: two formulations of
the same market cross-check each other."""

from __future__ import annotations

import pytest

from engines.afat.admm import aggregate_decentralised
from engines.afat.aggregation import aggregate_centralised
from tests.engines.afat._cases import evening_request

pytestmark = pytest.mark.unit


def quiet(fraction: float, stage: str) -> None:
    pass


@pytest.mark.parametrize(("seed", "volume_mw"), [(3, 0.012), (11, 0.004)])
def test_admm_welfare_within_half_a_percent_of_centralised(seed: int, volume_mw: float) -> None:
    central = aggregate_centralised(evening_request(20, seed, volume_mw), quiet)
    admm = aggregate_decentralised(
        evening_request(20, seed, volume_mw, method="decentralised"), quiet
    )
    assert central.status == admm.status == "optimal"
    assert admm.condition == "converged", admm.iterations
    assert central.social_welfare_eur > 0
    gap = abs(admm.social_welfare_eur - central.social_welfare_eur) / central.social_welfare_eur
    assert gap <= 0.005, (admm.social_welfare_eur, central.social_welfare_eur)
    assert admm.coupling_violation_kw <= 0.0031
    # Prosumers solved their own problems: their setpoints meet their own constraints, and the
    # aggregate respects the requested volume within the tolerance.
    for t, flex in enumerate(admm.flexibility_mw):
        if 17 <= t < 21:
            assert flex <= volume_mw + 1e-5
    assert admm.social_welfare_eur == pytest.approx(
        admm.aggregated_users_welfare_eur + admm.aggregator_profit_eur
    )
