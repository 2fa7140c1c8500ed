"""Retail pricing: Annex 7.1 outputs and their identities, the first welfare theorem as a
reference (price-taking prosumers facing the true marginal cost choose the welfare optimum),
and a run on real SimBench profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engines.afat.retail import compare_contracts
from engines.afat.retail_schema import Contract, RetailInput, RetailProsumer, SimbenchPortfolio

pytestmark = pytest.mark.unit

CONTRACTS = [
    Contract(name="flat", kind="fixed"),
    Contract(name="tou", kind="tou"),
    Contract(name="rtp", kind="rtp"),
]


def quiet(fraction: float, stage: str) -> None:
    pass


def prices(days: int) -> list[float]:
    hours = np.arange(days * 24)
    return list(50 + 40 * np.sin((hours % 24 - 9) / 24 * 2 * np.pi) + 5 * (hours // 24))


def consumers(flexibility: float) -> list[RetailProsumer]:
    rng = np.random.default_rng(5)
    return [
        RetailProsumer(
            id=f"c{i}",
            consumption_kw=list(rng.uniform(0.2, 2.0, 48)),
            flexibility_factor=flexibility,
            discomfort_eur_per_kw2h=0.02,
        )
        for i in range(12)
    ]


def run(flexibility: float, margin: float = 0.0) -> dict[str, object]:
    data = RetailInput(
        slot_minutes=60,
        wholesale_price_eur_per_mwh=prices(2),
        retailer_margin=margin,
        prosumers=consumers(flexibility),
        contracts=CONTRACTS,
    )
    result = compare_contracts(data, quiet)
    assert result.status == "optimal"
    return {o.name: o for o in result.contracts}


def test_outputs_satisfy_bills_cost_profit_identity() -> None:
    for o in run(0.3, margin=0.1).values():
        assert o.total_bills_eur == pytest.approx(o.energy_cost_eur + o.retailer_profit_eur)  # type: ignore[attr-defined]
        assert o.social_welfare_eur == pytest.approx(  # type: ignore[attr-defined]
            o.aggregated_users_welfare_eur + o.retailer_profit_eur  # type: ignore[attr-defined]
        )


def test_without_flexibility_contracts_only_move_money() -> None:
    """Nobody can respond: energy, cost and social welfare are equal under every contract,
    and each tariff recovers exactly the cost (zero margin)."""
    outcomes = list(run(0.0).values())
    for o in outcomes:
        assert o.total_prosumption_mwh == pytest.approx(outcomes[0].total_prosumption_mwh)  # type: ignore[attr-defined]
        assert o.social_welfare_eur == pytest.approx(outcomes[0].social_welfare_eur)  # type: ignore[attr-defined]
        assert o.retailer_profit_eur == pytest.approx(0.0, abs=1e-9)  # type: ignore[attr-defined]


def test_real_time_pricing_maximises_social_welfare() -> None:
    """First welfare theorem (linear cost, zero margin): under RTP prosumers face the
    marginal cost, so their own optimum is the social one; flat and ToU do no better. Energy
    is only shifted, so the day's total is kept."""
    out = run(0.4)
    rtp = out["rtp"]
    for name in ("flat", "tou"):
        assert rtp.social_welfare_eur >= out[name].social_welfare_eur - 1e-9  # type: ignore[attr-defined]
    assert rtp.energy_cost_eur < out["flat"].energy_cost_eur  # type: ignore[attr-defined]
    assert rtp.total_prosumption_mwh == pytest.approx(out["flat"].total_prosumption_mwh)  # type: ignore[attr-defined]


def test_simbench_profiles_portfolio() -> None:
    """A week of real 15-minute household and PV profiles from the simbench package."""
    pytest.importorskip("simbench")
    week = 7 * 96
    slot_hours = np.arange(week) / 4
    wholesale = list(60 + 30 * np.sin((slot_hours % 24 - 10) / 24 * 2 * math.pi))
    data = RetailInput(
        wholesale_price_eur_per_mwh=wholesale,
        retailer_margin=0.1,
        simbench=SimbenchPortfolio(prosumers=30, first_day=150, days=7),
        contracts=CONTRACTS,
    )
    result = compare_contracts(data, quiet)
    assert result.status == "optimal"
    assert result.prosumers == 30
    assert result.slots == week
    assert "simbench" in result.source
    flat = next(o for o in result.contracts if o.name == "flat")
    # 3,500 kWh a year is about 67 kWh a week per household before PV; a third have 5 kWp PV
    # in June, so the portfolio's net week is well below 30 x 67 kWh but positive.
    assert 0.3 < flat.total_prosumption_mwh < 30 * 0.08
    for o in result.contracts:
        assert o.total_bills_eur == pytest.approx(o.energy_cost_eur + o.retailer_profit_eur)


def test_curve_length_mismatch_is_rejected_with_where() -> None:
    import msgspec

    body = {
        "slot_minutes": 60,
        "wholesale_price_eur_per_mwh": [float(p) for p in prices(2)],
        "prosumers": [{"id": "c0", "consumption_kw": [1.0] * 47}],
        "contracts": [{"name": "flat", "kind": "fixed"}],
    }
    with pytest.raises(msgspec.ValidationError, match=r"prosumers\[0\] \(c0\)\.consumption_kw: 47"):
        msgspec.convert(body, RetailInput)
