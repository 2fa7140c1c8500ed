"""Cross-checks between two solvers or two formulations."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from engines.fmct.clearing import clear
from engines.fmct.netopf import solve_net_opf
from engines.fmct.schema import ClearingOptions, PeriodSchedule
from tests.engines._fmct_cases import congested_feeder, feeder, offer, request

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("case", "check_prices"),
    [
        ("case9", True),
        ("case14", True),
        ("case_ieee30", True),
        ("case39", True),
        ("case118", True),
        # pandapower limits case30's lines by current, MATPOWER (and we) by MVA: its binding line
        # is priced differently, so only the objectives are compared
        ("case30", False),
    ],
)
def test_acopf_agrees_with_pandapower_runopp(case: str, check_prices: bool) -> None:
    """pandapower's PIPS OPF is a cross-check, not the reference (STACK_NOTES): on every case where
    it converges its objective is at most 0.5 % above ours (never below: ours is the exact
    optimum) and its nodal prices (res_bus.lam_p) agree within 1 %."""
    net = getattr(pn, case)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        pp.runopp(net, numba=False)
    ours = solve_net_opf(getattr(pn, case)())
    assert net.OPF_converged
    assert ours.status == "optimal"
    assert ours.objective <= net.res_cost * (1 + 1e-6)
    assert (net.res_cost - ours.objective) / ours.objective < 5e-3
    if check_prices:
        lam = net.res_bus.lam_p.values
        assert np.max(np.abs(lam - ours.lam_p) / np.abs(lam)) < 1e-2


@pytest.mark.parametrize("congested", [False, True])
def test_milp_and_acopf_agree_within_linearisation_error(congested: bool) -> None:
    net = congested_feeder(0.9) if congested else feeder()
    offers = [
        offer(f"o{b}", str(b), up=0.5, down=0.5, pu=20.0 + b, pd=1.0 + b / 8)
        for b in range(1, 33, 2)
    ]
    requests = [request("r", "17", 0.3, 200.0)]
    opts = {"v_min_pu": 0.85}
    ac = clear(net, [], requests, offers, ClearingOptions(method="acopf", **opts))
    lp = clear(net, [], requests, offers, ClearingOptions(method="milp", tolerance=1e-5, **opts))
    assert ac.status == lp.status == "optimal"
    assert lp.linearisation_error_eur is not None
    assert ac.objective_eur is not None
    assert lp.objective_eur is not None
    assert abs(ac.objective_eur - lp.objective_eur) <= lp.linearisation_error_eur + 1e-3 * abs(
        ac.objective_eur
    )
    assert lp.residual_violation <= 1e-5 * 100  # loading in percent points or voltage in pu
    a, m = ac.periods[0].dlmp_p_eur_per_mwh, lp.periods[0].dlmp_p_eur_per_mwh
    # LP prices sit on the offer ladder's steps: agreement within one step (2 EUR/MWh here).
    assert max(abs(a[b] - m[b]) for b in a) <= 2.0


def test_acopf_without_flex_is_the_power_flow() -> None:
    """With a priced coupling point and nothing to dispatch, the OPF's unique point is the power
    flow: Baran & Wu's 202.68 kW losses again."""
    res = clear(feeder(), [], [], [], ClearingOptions(upstream_price_eur_per_mwh=50.0))
    assert res.periods[0].losses_mw * 1000 == pytest.approx(202.68, abs=0.01)
    assert res.periods[0].dlmp_p_eur_per_mwh["0"] == pytest.approx(50.0, rel=1e-6)


def test_schedules_change_the_operating_point() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    schedules = [
        PeriodSchedule(period_index=i, start=start, load_scaling=s)
        for i, s in enumerate((0.5, 1.0))
    ]
    res = clear(feeder(), schedules, [], [], ClearingOptions(upstream_price_eur_per_mwh=40.0))
    low, high = res.periods
    assert low.losses_mw < high.losses_mw
    assert high.losses_mw * 1000 == pytest.approx(202.68, abs=0.01)
