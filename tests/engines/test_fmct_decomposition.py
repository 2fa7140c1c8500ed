"""The fast clearing path is exact: separate periods in parallel, merged ties, lazily added offers and
limits, recycled power flows all give the answer of the plain joint model."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest

from engines.fmct import active_set
from engines.fmct.acopf import Flex, _build, solve_opf
from engines.fmct.active_set import merge_ties, solve_reduced_opf
from engines.fmct.clearing import clear, clearing_units
from engines.fmct.market import book_period_flex, order_book
from engines.fmct.network import Grid, GridSeries, period_grid
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingRequest, PeriodSchedule
from tests.engines._fmct_cases import congested_feeder

pytestmark = pytest.mark.unit
START = datetime(2025, 1, 1, tzinfo=UTC)
OPTS = ClearingOptions(v_min_pu=0.85)


def _book(
    n_offers: int, periods: int, seed: int = 3
) -> tuple[list[PeriodSchedule], list[ClearingRequest], list[ClearingOffer]]:
    """A day-shaped load, many small offers everywhere, a buyer at the substation each period."""
    rng = random.Random(seed)
    schedules = [
        PeriodSchedule(
            period_index=t,
            start=START + timedelta(hours=t),
            load_scaling=1.1 - 0.3 * t / max(periods - 1, 1),  # the first period overloads line 5
        )
        for t in range(periods)
    ]
    offers = [
        ClearingOffer(
            id=f"o{t}-{i}",
            seller_id=f"s{i % 7}",
            bus=str(rng.randint(1, 32)),
            p_up_mw=rng.uniform(0.005, 0.05),
            p_down_mw=rng.uniform(0.0, 0.03),
            # a 1 EUR/MWh price tick: ties at a bus happen and are merged
            price_p_up_eur_per_mwh=float(rng.randint(20, 60)),
            price_p_down_eur_per_mwh=float(rng.randint(0, 10)),
            periods=[t],
        )
        for t in range(periods)
        for i in range(n_offers)
    ]
    requests = [
        ClearingRequest(
            id=f"r{t}",
            buyer_id="tso",
            bus="0",
            direction="up",
            p_mw=0.3,
            price_p_eur_per_mwh=150.0,
            periods=[t],
        )
        for t in range(periods)
    ]
    return schedules, requests, offers


def _joint_objective(grids: list[Grid], flexes: list[Flex], durations: list[float]) -> float:
    """All periods in ONE pyomo model (one block per period, one summed objective): the reference
    formulation the decomposition must reproduce."""
    m = pyo.ConcreteModel()
    m.period = pyo.Block(range(len(grids)))
    for t, (g, f) in enumerate(zip(grids, flexes, strict=True)):
        block = _build(g, clearing_units(g, OPTS), f, "current", 1.0)
        block.obj.deactivate()
        del block.dual
        m.period[t].transfer_attributes_from(block)
    m.obj = pyo.Objective(
        expr=sum(d * m.period[t].obj.expr for t, d in enumerate(durations)), sense=pyo.minimize
    )
    solver = pyo.SolverFactory("ripopt")
    solver.options["tol"] = 1e-8
    res = solver.solve(m)
    assert res.solver.termination_condition == pyo.TerminationCondition.optimal
    # the cost of the returned dispatch within its bounds (as the engine reports it)
    total = 0.0
    for t, (g, f) in enumerate(zip(grids, flexes, strict=True)):
        share = np.clip([pyo.value(m.period[t].x[k]) for k in range(len(f.bus))], 0.0, 1.0)
        x = share * f.ub  # the model's x is the accepted share of each variable's volume
        total += durations[t] * float(f.cost @ x) * g.base_mva
    return total


def _grids_and_flexes(
    net: Any, schedules: list[PeriodSchedule], requests: Any, offers: Any
) -> tuple[list[Grid], list[Flex]]:
    series = GridSeries(net, v_min_pu=OPTS.v_min_pu, v_max_pu=OPTS.v_max_pu)
    grids = [series.grid(s) for s in schedules]
    book = order_book(offers, requests, series.bus_index)
    return grids, [
        book_period_flex(book, s.period_index, grids[0].base_mva).flex for s in schedules
    ]


def test_parallel_reduced_clearing_equals_the_joint_model() -> None:
    """Periods without intertemporal links are independent: the sum of their optima is the joint
    optimum (to the NLP tolerance, 1e-6 relative)."""
    net = congested_feeder(0.95)
    schedules, requests, offers = _book(60, 4)
    res = clear(net, schedules, requests, offers, OPTS, workers=2)
    assert res.status == "optimal"
    assert res.objective_eur is not None
    grids, flexes = _grids_and_flexes(net, schedules, requests, offers)
    joint = _joint_objective(grids, flexes, [s.duration_h for s in schedules])
    assert res.objective_eur == pytest.approx(joint, rel=1e-6)
    assert any(p.binding_branches for p in res.periods)  # the limits are part of the answer


@pytest.mark.parametrize("lazy", [False, True], ids=["defaults", "everything-lazy"])
def test_reduced_model_equals_the_full_model_with_many_offers(
    lazy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 offers in one period: merged ties and lazily added offers and limits give the full
    model's objective, dispatch and prices (a KKT point of the full model, see active_set). With
    ``lazy`` the first model has no limit and one offer per bus and sign: the rounds must add the
    overloaded line and the missing offers."""
    if lazy:
        monkeypatch.setattr(active_set, "LOADING_SEEDS_ROWS", np.inf)
        monkeypatch.setattr(active_set, "INITIAL_PER_GROUP", 1)
        monkeypatch.setattr(active_set, "MARGIN_PER_GROUP", 1)
    net = congested_feeder(0.95)
    schedules, requests, offers = _book(1000, 1)
    grids, flexes = _grids_and_flexes(net, schedules, requests, offers)
    grid, flex = grids[0], flexes[0]
    units = clearing_units(grid, OPTS)
    full = solve_opf(grid, units, flex)
    reduced = solve_reduced_opf(grid, units, flex)
    assert full.status == reduced.status == "optimal"
    # an interior point's objective is accurate to about n * mu: 1e-6 relative with 2,000 bounded
    # variables at tol 1e-8; the warm-started re-solves of the lazy run add their own share
    assert reduced.objective == pytest.approx(full.objective, rel=2e-6 if lazy else 1e-6)
    np.testing.assert_allclose(reduced.lam_p, full.lam_p, rtol=1e-5)
    # ties may be split differently by the two solves; the volume per bus and direction may not
    for sign in (1.0, -1.0):
        sel = flex.sign == sign
        per_bus = [np.bincount(flex.bus[sel], s.x[sel], grid.n_bus) for s in (full, reduced)]
        np.testing.assert_allclose(per_bus[1], per_bus[0], atol=1e-6)
    assert len(merge_ties(flex).flex.bus) < len(flex.bus)  # the book does have ties


def test_ties_are_shared_pro_rata() -> None:
    """Two offers at one bus and one price are one resource: the same optimum as one offer of
    their summed volume, split in proportion to the volumes."""
    net = congested_feeder(0.95)
    base = dict(seller_id="s", bus="10", price_p_up_eur_per_mwh=30.0, periods=[0])
    split = [
        ClearingOffer(id="a", p_up_mw=0.1, **base),  # type: ignore[arg-type]
        ClearingOffer(id="b", p_up_mw=0.3, **base),  # type: ignore[arg-type]
    ]
    whole = [ClearingOffer(id="c", p_up_mw=0.4, **base)]  # type: ignore[arg-type]
    reqs = [
        ClearingRequest(
            id="r",
            buyer_id="b",
            bus="0",
            direction="up",
            p_mw=0.2,
            price_p_eur_per_mwh=100.0,
            periods=[0],
        )
    ]
    one, two = (clear(net, [], reqs, book, OPTS) for book in (whole, split))
    assert one.objective_eur == pytest.approx(two.objective_eur, rel=1e-7)
    c = one.periods[0].offers[0].p_up_mw
    a, b = (d.p_up_mw for d in two.periods[0].offers)
    assert 0.0 < c < 0.4  # marginal
    assert (a, b) == (pytest.approx(c / 4, rel=1e-6), pytest.approx(3 * c / 4, rel=1e-6))


def test_recycled_power_flows_equal_fresh_ones() -> None:
    """pandapower's time-series mode (reused admittances, previous voltages as the start) gives
    each period's own power flow."""
    net = congested_feeder(0.95)
    schedules = [
        PeriodSchedule(
            period_index=t,
            start=START,
            load_scaling=s,
            load_p_mw={"5": 0.25} if t == 1 else {},
        )
        for t, s in enumerate((0.6, 1.1, 0.9))
    ]
    series = GridSeries(net, v_min_pu=0.9, v_max_pu=1.1)
    for s in schedules:
        fast = series.grid(s)
        plain, _ = period_grid(net, s, v_min_pu=0.9, v_max_pu=1.1)
        np.testing.assert_allclose(fast.pd, plain.pd, atol=1e-8)
        np.testing.assert_allclose(fast.qd, plain.qd, atol=1e-8)
        np.testing.assert_allclose(fast.vm, plain.vm, atol=1e-8)
        np.testing.assert_allclose(fast.va, plain.va, atol=1e-8)
