"""The DC-OPF core against pandapower's `rundcopp` (PYPOWER's DC-OPF, MATPOWER semantics) on the
same MATPOWER cases with their own quadratic costs: objective and every bus price must agree."""

from __future__ import annotations

import warnings

import numpy as np
import pandapower as pp
import pytest

from engines.markets.dcgrid import dc_grid, load_case
from engines.markets.dcopf import Quantities, solve_dcopf

pytestmark = pytest.mark.unit


def _reference(net: object) -> tuple[float, dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandapower's numba notice
        pp.rundcopp(net)
    res = net.res_bus.lam_p  # type: ignore[attr-defined]
    return float(net.res_cost), {str(b): float(res.at[b]) for b in res.index}  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["case30", "case39", "case118"])
def test_quadratic_costs_match_rundcopp(case: str) -> None:
    net = load_case(case)
    grid = dc_grid(net)
    units = grid.units
    q = Quantities(
        bus=np.array([grid.row_of[u.bus] for u in units]),
        period=np.zeros(len(units), np.int64),
        sign=np.ones(len(units)),
        lower_mw=np.array([u.p_min_mw for u in units]),
        upper_mw=np.array([u.p_max_mw for u in units]),
        cost=np.array([u.c1 for u in units]),
        quad=np.array([u.c2 for u in units]),
    )
    sol = solve_dcopf(grid, q, 1, grid.load_mw[None, :])
    objective, prices = _reference(net)
    assert sol.status == "optimal"
    assert sol.objective_eur + sum(u.c0 for u in units) == pytest.approx(objective, rel=1e-6)
    for bus, price in prices.items():
        assert sol.lmp[0, grid.row_of[bus]] == pytest.approx(price, rel=1e-4, abs=1e-4)
