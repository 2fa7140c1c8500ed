"""Intertemporal and integer features of the MILP clearing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOptions, PeriodSchedule
from tests.engines._fmct_cases import feeder, offer

pytestmark = pytest.mark.unit
START = datetime(2025, 1, 1, tzinfo=UTC)
THREE = [PeriodSchedule(period_index=i, start=START) for i in range(3)]


def _requests(volume: float) -> list:  # type: ignore[type-arg]
    from engines.fmct.schema import ClearingRequest

    return [
        ClearingRequest(
            id="r",
            buyer_id="dso",
            bus="17",
            direction="up",
            p_mw=volume,
            price_p_eur_per_mwh=500.0,
            periods=[0, 1, 2],
        )
    ]


def test_energy_limit_spreads_over_periods() -> None:
    cheap = offer("cheap", "15", up=1.0, pu=10.0, periods=[0, 1, 2], energy_limit_mwh=0.4)
    dear = offer("dear", "16", up=1.0, pu=40.0, periods=[0, 1, 2])
    res = clear(
        feeder(),
        THREE,
        _requests(0.2),
        [cheap, dear],
        ClearingOptions(method="milp", v_min_pu=0.85),
    )
    assert res.status == "optimal"
    energy = sum(d.p_up_mw for p in res.periods for d in p.offers if d.offer_id == "cheap")
    assert energy == pytest.approx(0.4, abs=1e-6)


def test_ramp_limit_between_consecutive_periods() -> None:
    ramped = offer("ramped", "15", up=1.0, pu=10.0, periods=[0, 1, 2], ramp_mw_per_period=0.05)
    dear = offer("dear", "16", up=1.0, pu=40.0, periods=[0, 1, 2])
    sched = [
        PeriodSchedule(period_index=i, start=START, load_scaling=s)
        for i, s in enumerate((0.6, 1.0, 1.0))
    ]
    from engines.fmct.schema import ClearingRequest

    reqs = [
        ClearingRequest(
            id=f"r{t}",
            buyer_id="dso",
            bus="17",
            direction="up",
            p_mw=v,
            price_p_eur_per_mwh=500.0,
            periods=[t],
        )
        for t, v in enumerate((0.0001, 0.3, 0.3))
    ]
    res = clear(
        feeder(), sched, reqs, [ramped, dear], ClearingOptions(method="milp", v_min_pu=0.85)
    )
    assert res.status == "optimal"
    p = [
        next((d.p_up_mw for d in per.offers if d.offer_id == "ramped"), 0.0) for per in res.periods
    ]
    assert all(abs(b - a) <= 0.05 + 1e-7 for a, b in itertools.pairwise(p))


def test_block_all_or_nothing_and_uplift() -> None:
    """A 0.5 MW block against a 0.2 MW need: taken whole only if that is cheapest overall."""
    block = offer("block", "15", up=0.5, pu=5.0, block=True, periods=[0, 1, 2])
    dear = offer("dear", "16", up=1.0, pu=40.0, periods=[0, 1, 2])
    down = offer("sink", "2", down=1.0, pd=1.0, periods=[0, 1, 2])
    res = clear(
        feeder(),
        THREE,
        _requests(0.2),
        [block, dear, down],
        ClearingOptions(method="milp", v_min_pu=0.85, pricing="nodal"),
    )
    assert res.status == "optimal"
    volumes = {next(d.p_up_mw for d in p.offers if d.offer_id == "block") for p in res.periods}
    assert volumes in ({0.5}, {0.0}) or all(abs(v - 0.5) < 1e-6 for v in volumes)
    assert res.all_offers_paid_at_least_price
