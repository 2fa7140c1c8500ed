"""The closed-form best response of the non-storage devices replaces a HiGHS solve of the
portfolio LP with every aggregate column free at a price (the pricing step of column
generation). Each test prices an LP, takes the closed-form x, and checks that it is feasible
for the LP (bounds and every row, the aggregate set to what x implies) and that its objective
is the HiGHS optimum of the same LP."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest

from engines.afat.highs import HighsSession
from engines.afat.lp import FloatArray, IntArray, PortfolioLp, build, build_without_batteries
from engines.afat.plain_response import PlainResponse
from engines.afat.portfolio import (
    CurtailableLoad,
    EvCharging,
    Prosumer,
    Pv,
    ShiftableLoad,
)
from engines.afat.sample import day_shapes, household_portfolio

pytestmark = pytest.mark.unit

TOL = 1e-7


def _column_cost(
    lp: PortfolioLp, coupled: IntArray, y: FloatArray, perturbation: FloatArray
) -> FloatArray:
    """What column generation passes: device cost plus each column's share of the priced
    aggregate (`y` per coupled slot)."""
    per_slot = np.zeros(lp.slots)
    per_slot[coupled] = y
    priced = lp.contribution.T @ np.tile(per_slot, lp.users)
    return np.asarray(lp.cost + perturbation + priced, dtype=np.float64)


def _assert_feasible(lp: PortfolioLp, x: FloatArray) -> None:
    full = x.copy()
    assert np.all(x[lp.p_cols] == 0.0)
    # The aggregate each balance row implies: P_t = fixed_t + contributions at t.
    rows = np.asarray(lp.matrix @ x, dtype=np.float64)
    full[lp.p_cols] = lp.row_lower[lp.balance_rows] - rows[lp.balance_rows]
    assert np.all(full >= lp.lower - TOL)
    assert np.all(full <= lp.upper + TOL)
    activity = np.asarray(lp.matrix @ full, dtype=np.float64)
    assert np.all(activity >= lp.row_lower - TOL)
    assert np.all(activity <= lp.row_upper + TOL)


def _highs_objective(lp: PortfolioLp, y: FloatArray, perturbation: FloatArray) -> float:
    cost = lp.cost + perturbation
    cost[lp.p_cols] = y
    session = HighsSession(lp)
    session.change_cols(np.arange(len(cost), dtype=np.int64), cost, lp.lower, lp.upper)
    solution = session.solve()
    assert solution.status == "optimal", solution.condition
    return solution.objective


def _assert_optimal(
    lp: PortfolioLp, coupled: IntArray, y: FloatArray, perturbation: FloatArray
) -> None:
    response = PlainResponse.of(lp)
    cost = _column_cost(lp, coupled, y, perturbation)
    x = response.respond(cost)
    _assert_feasible(lp, x)
    # Same objective as HiGHS: the device cost plus y . P, P_t = fixed_t + contributions.
    objective = float(cost @ x + y @ lp.row_lower[lp.balance_rows])
    expected = _highs_objective(lp, y, perturbation)
    assert abs(objective - expected) <= TOL * max(1.0, abs(expected)), (objective, expected)
    assert np.array_equal(x, response.respond(cost.copy()))


def _perturbation(lp: PortfolioLp, rng: np.random.Generator, scale: float) -> FloatArray:
    """Random per-column cost changes; moved-energy columns stay nonnegative (a negative
    discomfort makes the LP unbounded) and aggregate columns carry only `y`."""
    out = rng.normal(0.0, scale, len(lp.cost))
    out[lp.p_cols] = 0.0
    assert lp.devices is not None
    moved = lp.devices.moved_cols
    out[moved] = np.maximum(out[moved], -lp.cost[moved])
    return out


def _sample_lp(count: int, seed: int, coupled: IntArray) -> PortfolioLp:
    load, pv = day_shapes(96)
    prosumers = household_portfolio(count, load, pv, seed=seed)
    price = 60 + 40 * np.sin(np.arange(96) / 96 * 2 * np.pi)
    return build_without_batteries(prosumers, 96, 0.25, price, coupled)


@pytest.mark.parametrize(("count", "seed"), [(200, 0), (300, 1), (500, 2), (400, 3)])
def test_sample_portfolio_matches_highs(count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    evening = np.arange(68, 84, dtype=np.int64)
    scattered = np.sort(rng.choice(96, size=30, replace=False)).astype(np.int64)
    for coupled in (evening, scattered):
        lp = _sample_lp(count, seed, coupled)
        for scale in (0.05, 0.3):
            y = rng.uniform(-scale, scale, len(coupled))
            _assert_optimal(lp, coupled, y, np.zeros(len(lp.cost)))
        y = rng.uniform(-0.1, 0.1, len(coupled))
        _assert_optimal(lp, coupled, y, _perturbation(lp, rng, 0.01))


SLOTS = 24
SLOT_HOURS = 0.5


def _edge_prosumers() -> list[Prosumer]:
    flat = [0.5] * SLOTS
    zero_half = [0.0 if t % 2 else 1.5 for t in range(SLOTS)]
    pv_shape = [max(0.0, 4.0 - abs(t - 12) * 0.6) for t in range(SLOTS)]

    def prosumer(name: str, **devices: object) -> Prosumer:
        return Prosumer(id=name, inflexible_kw=flat, **devices)  # type: ignore[arg-type]

    return [
        prosumer("nothing"),
        prosumer(
            "zero-discomfort-shiftable",
            shiftable=[
                ShiftableLoad(
                    profile_kw=[2.0, 2.0],
                    preferred_start_slot=8,
                    earliest_slot=4,
                    latest_end_slot=16,
                    p_max_kw=2.0,
                    discomfort_eur_per_mwh=0.0,
                )
            ],
        ),
        prosumer(
            "two-shiftables",
            shiftable=[
                ShiftableLoad(
                    profile_kw=[1.0, 2.5, 0.5],
                    preferred_start_slot=10,
                    earliest_slot=6,
                    latest_end_slot=18,
                    p_max_kw=3.0,
                    discomfort_eur_per_mwh=40.0,
                ),
                ShiftableLoad(
                    profile_kw=[1.2],
                    preferred_start_slot=12,
                    earliest_slot=12,
                    latest_end_slot=20,
                    p_max_kw=1.2,
                    discomfort_eur_per_mwh=5.0,
                ),
            ],
        ),
        prosumer(
            "shiftable-ending-at-horizon",
            shiftable=[
                ShiftableLoad(
                    profile_kw=[1.0, 1.4, 1.0],
                    preferred_start_slot=21,
                    earliest_slot=17,
                    latest_end_slot=SLOTS,
                    p_max_kw=1.5,
                    discomfort_eur_per_mwh=20.0,
                )
            ],
        ),
        prosumer("fixed-pv", pv=Pv(forecast_kw=pv_shape, curtailable=False)),
        prosumer("spillable-pv", pv=Pv(forecast_kw=pv_shape)),
        prosumer(
            "ev-cut-by-horizon",
            ev=EvCharging(
                arrival_slot=18,
                departure_slot=30,
                energy_need_kwh=12.0,
                p_max_kw=7.4,
                delay_cost_eur_per_mwh_h=3.0,
            ),
        ),
        prosumer(
            "ev-needs-whole-window",
            ev=EvCharging(
                arrival_slot=10,
                departure_slot=14,
                energy_need_kwh=7.4 * 0.92 * SLOT_HOURS * 4,
                p_max_kw=7.4,
            ),
        ),
        prosumer(
            "ev-needs-nothing",
            ev=EvCharging(arrival_slot=2, departure_slot=9, energy_need_kwh=0.0, p_max_kw=3.7),
        ),
        prosumer(
            "curtailable-zero-demand-slots",
            curtailable=CurtailableLoad(
                demand_kw=zero_half,
                max_curtail_fraction=0.6,
                discomfort_eur_per_mwh=[0.0, 50.0, 300.0],
            ),
        ),
        prosumer(
            "not-curtailable",
            curtailable=CurtailableLoad(
                demand_kw=zero_half, max_curtail_fraction=0.0, discomfort_eur_per_mwh=[10.0]
            ),
        ),
        prosumer(
            "everything",
            pv=Pv(forecast_kw=pv_shape),
            ev=EvCharging(
                arrival_slot=3,
                departure_slot=20,
                energy_need_kwh=9.0,
                p_max_kw=3.7,
                delay_cost_eur_per_mwh_h=1.0,
            ),
            shiftable=[
                ShiftableLoad(
                    profile_kw=[0.8, 0.8],
                    preferred_start_slot=5,
                    earliest_slot=0,
                    latest_end_slot=24,
                    p_max_kw=2.0,
                    discomfort_eur_per_mwh=15.0,
                )
            ],
            curtailable=CurtailableLoad(
                demand_kw=zero_half, max_curtail_fraction=0.9, discomfort_eur_per_mwh=[20.0, 20.0]
            ),
        ),
    ]


# Negative prices in the middle of the day (a PV glut), a flat price, an evening peak.
PRICES = {
    "negative-midday": np.array(
        [80.0 - 120.0 * np.exp(-((t - 12) ** 2) / 8) for t in range(SLOTS)]
    ),
    "flat": np.full(SLOTS, 50.0),
    "evening-peak": np.array([40.0 + 200.0 * (17 <= t < 21) for t in range(SLOTS)]),
}


@pytest.mark.parametrize("price_name", sorted(PRICES))
@pytest.mark.parametrize("coupled_kind", ["all", "some", "none"])
def test_edge_cases_match_highs(price_name: str, coupled_kind: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{price_name}/{coupled_kind}".encode()))
    coupled = {
        "all": np.arange(SLOTS, dtype=np.int64),
        "some": np.array([3, 9, 11, 12, 13, 19, 23], dtype=np.int64),
        "none": np.zeros(0, dtype=np.int64),
    }[coupled_kind]
    lp = build_without_batteries(_edge_prosumers(), SLOTS, SLOT_HOURS, PRICES[price_name], coupled)
    zero = np.zeros(len(lp.cost))
    _assert_optimal(lp, coupled, np.zeros(len(coupled)), zero)  # ties everywhere on a flat price
    for scale in (0.02, 0.2, 2.0):
        _assert_optimal(lp, coupled, rng.uniform(-scale, scale, len(coupled)), zero)
        y = rng.uniform(-scale, scale, len(coupled))
        _assert_optimal(lp, coupled, y, _perturbation(lp, rng, scale / 10))


def test_ev_needing_its_whole_window_charges_at_full_power() -> None:
    lp = build_without_batteries(
        _edge_prosumers(), SLOTS, SLOT_HOURS, PRICES["flat"], np.arange(SLOTS, dtype=np.int64)
    )
    y = np.full(SLOTS, 5.0)  # charging is expensive everywhere: only the need is taken
    coupled = np.arange(SLOTS, dtype=np.int64)
    x = PlainResponse.of(lp).respond(_column_cost(lp, coupled, y, np.zeros(len(lp.cost))))
    ev = lp.series("ev_kw", x)[[p.id for p in _edge_prosumers()].index("ev-needs-whole-window")]
    np.testing.assert_allclose(ev[10:14], 7.4, rtol=1e-12)
    assert np.all(ev[:10] == 0.0)
    assert np.all(ev[14:] == 0.0)


def test_response_is_deterministic_across_builds() -> None:
    coupled = np.arange(68, 84, dtype=np.int64)
    first, second = _sample_lp(200, 5, coupled), _sample_lp(200, 5, coupled)
    y = np.random.default_rng(5).uniform(-0.2, 0.2, len(coupled))
    cost = _column_cost(first, coupled, y, np.zeros(len(first.cost)))
    assert np.array_equal(
        PlainResponse.of(first).respond(cost), PlainResponse.of(second).respond(cost)
    )


def test_rejects_what_it_cannot_solve_in_closed_form() -> None:
    load, pv = day_shapes(96)
    prosumers = household_portfolio(50, load, pv, seed=0)
    assert any(p.battery is not None for p in prosumers)
    coupled = np.arange(68, 84, dtype=np.int64)
    price = np.full(96, 50.0)
    with pytest.raises(ValueError, match="battery"):
        PlainResponse.of(build(prosumers, 96, 0.25, price, coupled))
    lp = build_without_batteries(prosumers, 96, 0.25, price, coupled)
    with pytest.raises(ValueError, match="layout"):
        PlainResponse.of(dataclasses.replace(lp, devices=None))
    response = PlainResponse.of(lp)
    with pytest.raises(ValueError, match="shape"):
        response.respond(lp.cost[:-1])
    assert lp.devices is not None
    cost = lp.cost.copy()
    cost[lp.devices.moved_cols[0]] = -1.0
    with pytest.raises(ValueError, match="unbounded"):
        response.respond(cost)


def test_rejects_an_ev_that_cannot_meet_its_need() -> None:
    ev = EvCharging(arrival_slot=20, departure_slot=30, energy_need_kwh=50.0, p_max_kw=3.7)
    lp = build_without_batteries(
        [Prosumer(id="late", inflexible_kw=[0.0] * SLOTS, ev=ev)],
        SLOTS,
        SLOT_HOURS,
        PRICES["flat"],
        np.arange(SLOTS, dtype=np.int64),
    )
    with pytest.raises(ValueError, match="EV"):
        PlainResponse.of(lp)
