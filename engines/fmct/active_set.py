"""Exact reductions of one period's AC-OPF: tied offers merged, offers and thermal limits added lazily.

1. Variables with the same bus, kind (P or Q), sign and price are interchangeable: one variable with
   the summed bound has the same optimum. Its dispatch is shared pro rata to the volumes (a tie-break
   among equally priced offers; any split is optimal).
2. Column and row generation. The first model holds, per bus, kind and sign, the few cheapest
   variables (a bus is always served in merit order), and the thermal limits of branches loaded near
   their limit in the base power flow. After each solve an omitted variable with a negative reduced
   cost ``price - sign * nodal price`` (it would lower the objective if it could enter) and an omitted
   limit that the solution violates are added, and the model is solved again from the last solution.
   When nothing is left to add, the solution (omitted variables at zero, omitted limits satisfied)
   is a KKT point of the full model: every omitted variable sits at its lower bound with a
   non-negative reduced cost and every omitted limit is slack with a zero multiplier. That is the same
   certificate a solve of the full model gives, with ripopt's cost growing with variables x constraints
   (see STACK_NOTES) cut several-fold.

A reduced model that is infeasible is retried with every variable in (the omitted limits only relax
the model, so infeasibility then holds for the full model too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from engines.fmct.acopf import BranchLimit, Flex, OpfSolution, Start, Units, solve_opf
from engines.fmct.network import FloatArray, Grid

INITIAL_PER_GROUP = 3  # cheapest variables per (bus, kind, sign) in the first model
MARGIN_PER_GROUP = 3  # further merit-order variables added behind the last violating one
LOADING_SEEDS_ROWS = (
    0.9  # base loading (fraction of the limit) above which a limit starts in the model
)
REDUCED_COST_TOL = (
    1e-6  # EUR/MWh per EUR/MWh of price: below -tol * (1 + |price|) a variable enters
)
VIOLATION_TOL = 1e-7  # relative excess of an omitted limit that brings it into the model
MAX_ROUNDS = 8

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True)
class Merged:
    """Tied variables merged: ``flex`` has one variable per (bus, kind, sign, price)."""

    flex: Flex
    of: IntArray  # merged variable of every original variable
    group: IntArray  # (bus, kind, sign) group of every merged variable
    rank: IntArray  # merit-order position inside the group (0 = cheapest)


def merge_ties(flex: Flex) -> Merged:
    keys = np.c_[flex.bus, flex.is_q, flex.sign, flex.cost].astype(float)
    if not len(keys):
        empty = np.zeros(0, np.int64)
        return Merged(flex, empty, empty, empty)
    uniq, of = np.unique(keys, axis=0, return_inverse=True)
    of = of.reshape(-1)
    ub = np.bincount(of, weights=flex.ub, minlength=len(uniq)).astype(np.float64)
    merged = Flex(
        bus=uniq[:, 0].astype(np.int64),
        is_q=uniq[:, 1].astype(bool),
        sign=uniq[:, 2],
        ub=ub,
        cost=uniq[:, 3],
    )
    # np.unique sorts rows lexicographically: each group is contiguous and in ascending price
    _, group, counts = np.unique(uniq[:, :3], axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(uniq)) - starts[group]
    return Merged(merged, of.astype(np.int64), group.astype(np.int64), rank.astype(np.int64))


def _subset(flex: Flex, keep: BoolArray) -> Flex:
    return Flex(flex.bus[keep], flex.is_q[keep], flex.sign[keep], flex.ub[keep], flex.cost[keep])


def loading_ratio(
    grid: Grid,
    vm: FloatArray,
    sf: np.ndarray[Any, np.dtype[np.complex128]],
    st: np.ndarray[Any, np.dtype[np.complex128]],
    limit: BranchLimit,
    limit_scale: float,
) -> FloatArray:
    """Flow over the model's limit per branch (current or apparent power, both ends); 0 = no limit."""
    rate = grid.rating * limit_scale
    vf = vm[grid.f] if limit == "current" else 1.0
    vt = vm[grid.t] if limit == "current" else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(np.abs(sf) / vf, np.abs(st) / vt) / rate
    return np.where(np.isfinite(rate) & np.isfinite(ratio), ratio, 0.0)


def _base_flows(grid: Grid) -> tuple[Any, Any]:
    v = grid.vm * np.exp(1j * grid.va)
    vf, vt = v[grid.f], v[grid.t]
    return vf * np.conj(grid.yff * vf + grid.yft * vt), vt * np.conj(grid.ytf * vf + grid.ytt * vt)


def reduced_cost(flex: Flex, sol: OpfSolution) -> FloatArray:
    """EUR/MWh: price minus what one more unit earns at its bus's nodal price."""
    lam = np.where(flex.is_q, sol.lam_q[flex.bus], sol.lam_p[flex.bus])
    return np.asarray(flex.cost - flex.sign * lam, dtype=float)


def solve_reduced_opf(
    grid: Grid,
    units: Units,
    flex: Flex,
    *,
    limit: BranchLimit = "current",
    limit_scale: float = 1.0,
    time_limit_s: float = 300.0,
) -> OpfSolution:
    """The AC-OPF of ``solve_opf`` with every limit and variable, solved by the reductions above."""
    started = time.perf_counter()
    merged = merge_ties(flex)
    red = merged.flex
    movable = red.ub > 0.0  # a variable without volume (e.g. removed for a VCG re-solve) stays at 0
    cols = movable & (merged.rank < INITIAL_PER_GROUP)
    sf0, st0 = _base_flows(grid)
    rows = loading_ratio(grid, grid.vm, sf0, st0, limit, limit_scale) >= LOADING_SEEDS_ROWS
    finite = np.isfinite(grid.rating)
    start: Start | None = None
    sol: OpfSolution | None = None
    for _ in range(MAX_ROUNDS):
        left = max(time_limit_s - (time.perf_counter() - started), 1.0)
        sub = _subset(red, cols)
        sol = solve_opf(
            grid,
            units,
            sub,
            limit=limit,
            limit_scale=limit_scale,
            time_limit_s=left,
            thermal=rows,
            start=start,
        )
        if sol.status != "optimal":
            if (cols == movable).all():
                break  # every variable in: the omitted limits only relax, so this is final
            cols = movable.copy()  # an omitted offer may be what makes the market feasible
            start = None
            continue
        x = np.zeros(len(red.bus))
        x[cols] = sol.x
        rc = reduced_cost(red, sol)
        enter = movable & ~cols & (rc < -REDUCED_COST_TOL * (1.0 + np.abs(red.cost)))
        ratio = loading_ratio(grid, sol.vm, sol.sf, sol.st, limit, limit_scale)
        violated = finite & ~rows & (ratio > 1.0 + VIOLATION_TOL)
        if not enter.any() and not violated.any():
            return _expand(sol, merged, flex, x, started)
        if enter.any():
            # merit order inside a group: add everything up to a margin past the last entering one
            last = np.full(int(merged.group.max()) + 1, -1)
            np.maximum.at(last, merged.group[enter], merged.rank[enter])
            cols |= movable & (merged.rank <= last[merged.group] + MARGIN_PER_GROUP)
        rows |= violated
        start = Start(sol.vm, sol.va, x[cols])
    if sol is not None and sol.status != "optimal":
        return _expand(sol, merged, flex, np.zeros(len(red.bus)), started)
    # not settled within the rounds (not seen in practice): the full model decides
    return solve_opf(
        grid,
        units,
        flex,
        limit=limit,
        limit_scale=limit_scale,
        time_limit_s=max(time_limit_s - (time.perf_counter() - started), 1.0),
    )


def _expand(
    sol: OpfSolution, merged: Merged, flex: Flex, x_merged: FloatArray, started: float
) -> OpfSolution:
    """Back to the caller's variables: each merged dispatch shared pro rata to the volumes."""
    if not len(flex.ub):
        x = np.zeros(0)
    else:
        ub_m = merged.flex.ub[merged.of]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(ub_m > 0.0, flex.ub / ub_m, 0.0)
        x = x_merged[merged.of] * share
    return OpfSolution(
        status=sol.status,
        condition=sol.condition,
        message=sol.message,
        objective=sol.objective,
        solve_time_s=time.perf_counter() - started,
        vm=sol.vm,
        va=sol.va,
        sf=sol.sf,
        st=sol.st,
        pg=sol.pg,
        qg=sol.qg,
        x=x,
        lam_p=sol.lam_p,
        lam_q=sol.lam_q,
        mu_branch=sol.mu_branch,
    )
