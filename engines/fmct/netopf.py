"""The classic AC-OPF of a pandapower net with its own cost functions (MATPOWER semantics).

Used to check the AC-OPF core against published benchmark optima: every ``ext_grid`` and ``gen`` with a
``poly_cost`` row is dispatchable within its P and Q limits, bus voltage limits come from the bus table,
branch limits are apparent-power limits from ``RATE_A`` (MATPOWER's rateA) at both ends.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from engines.fmct.acopf import Flex, OpfSolution, Units, solve_opf
from engines.fmct.network import Grid, build_grid, run_pf


def units_from_costs(net: Any, grid: Grid) -> Units:
    ng = len(grid.gen_ids)
    pmin, pmax = np.full(ng, -np.inf), np.full(ng, np.inf)
    qmin, qmax = grid.gen_qmin.copy(), grid.gen_qmax.copy()
    c2, c1, c0 = np.zeros(ng), np.zeros(ng), np.zeros(ng)
    base = grid.base_mva
    row_of = {label: i for i, label in enumerate(grid.gen_ids)}
    for element in ("ext_grid", "gen"):
        table = net[element]
        for idx in table.index:
            row = row_of.get(f"{element}:{idx}")
            if row is None:
                continue
            for col, arr, default in (
                ("min_p_mw", pmin, -np.inf),
                ("max_p_mw", pmax, np.inf),
                ("min_q_mvar", qmin, -np.inf),
                ("max_q_mvar", qmax, np.inf),
            ):
                value = float(table.at[idx, col]) if col in table else default
                arr[row] = (value if not np.isnan(value) else default) / base
    for _, cost in net.poly_cost.iterrows():
        row = row_of.get(f"{cost.et}:{int(cost.element)}")
        if row is not None:
            c2[row], c1[row], c0[row] = cost.cp2_eur_per_mw2, cost.cp1_eur_per_mw, cost.cp0_eur
    return Units(pmin, pmax, qmin, qmax, c2, c1, c0, fix_vm=np.zeros(ng, dtype=bool))


def solve_net_opf(net: Any, *, time_limit_s: float = 120.0) -> OpfSolution:
    """AC-OPF of ``net`` (not modified) with its poly_cost; objective in the cost unit per hour."""
    work = copy.deepcopy(net)
    run_pf(work)  # builds the ppc and gives the start point
    grid = build_grid(work, v_min_pu=None, v_max_pu=None, use_rate_a=True)
    units = units_from_costs(work, grid)
    return solve_opf(grid, units, Flex.empty(), limit="apparent", time_limit_s=time_limit_s)
