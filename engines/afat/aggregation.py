"""Centralised flexibility aggregation (HLUC_04_UCS_01): the aggregator knows every
prosumer's assets and preferences and solves the portfolio's LP.

1. Baseline: the portfolio's optimal schedule at the forecast energy price, no request.
2. Response: maximise social welfare (flexibility revenue minus extra energy cost, discomfort
   and wear) with the request's volume as a cap on the portfolio's flexibility per slot.
3. Offer curve: the same problem with the buyer's price scaled by theta_k = k/K, each solution
   at least the previous one and at most the response (so quantities are nested and the top
   step is the response). A step's price is its exact incremental cost, which lies between
   theta_{k-1} and theta_k times the buyer's price; pay-as-bid payment of all steps therefore
   equals the portfolio's cost of the response (plus the markup).

Exact solvers behind one seam, cross-checked in the tests: one LP of the whole portfolio
(`single_lp`); the same LP with each battery reduced to the request's window by exact value
functions of its state of charge (`storage_window`, the fastest up to about a thousand
prosumers); Dantzig-Wolfe with one block per prosumer's devices and per battery
(`prosumer_columns`, the large-portfolio solver); batteries priced by column generation next to
the explicit non-storage LP (`battery_split`); or Dantzig-Wolfe over chunks of prosumers
(`decomposed`: the aggregator only sends prices to the chunks, which answer with schedules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engines.afat.decomposition import Decomposition
from engines.afat.highs import HighsSession, SolveStatus
from engines.afat.lp import FloatArray, Readout, build
from engines.afat.prosumer_columns import ProsumerColumns
from engines.afat.request import RequestTerms
from engines.afat.result import assemble, failed
from engines.afat.schema import AggregationInput, AggregationResult, OfferStep
from engines.afat.split_portfolio import SplitPortfolio, StorageSolution
from engines.afat.storage_split import StorageSplit
from engines.afat.storage_window import StorageWindow
from engines.base import ProgressFn

_EPS_KW = 1e-6
# Measured (bench/afat_aggregation.py, 2 shared cores, evening request with a binding volume,
# 5 offer steps; storage_window / prosumer_columns): 300 prosumers 0.4 / 1.6 s, 500 0.8 /
# 1.7 s, 1,000 3.2 / 2.3 s, 2,000 14.8 / 7.1 s, 10,000 prosumers 47.5 s (median of 3) with
# prosumer_columns (single_lp took 40.7 s at 3,000; battery_split did not finish in comparable
# time at 10,000, decomposed took 283 s).
_WINDOW_UP_TO = 700


@dataclass(frozen=True)
class Level:
    """One solve of the request problem."""

    status: SolveStatus
    condition: str
    p_kw: FloatArray  # aggregate prosumption in the requested slots
    cost_eur: float  # extra energy, discomfort and wear against the baseline
    duals: FloatArray  # EUR per kW of prosumption per requested slot


class PortfolioSolver(Protocol):
    def baseline(self) -> tuple[SolveStatus, str, Readout]: ...

    def solve(self, p_cost: FloatArray, lower: FloatArray, upper: FloatArray) -> Level: ...

    def readout(self) -> Readout:
        """Per-prosumer series of the last `solve`."""
        ...


class SingleLp:
    def __init__(self, data: AggregationInput, terms: RequestTerms) -> None:
        self.lp = build(
            data.prosumers,
            data.slots,
            data.slot_hours,
            terms.energy_price_eur_per_mwh,
            terms.requested,
        )
        self.session = HighsSession(self.lp, data.options.time_limit_s)
        self._mine = self.lp.owner >= 0
        self._base_cost = 0.0
        self._x = np.zeros(0)

    def baseline(self) -> tuple[SolveStatus, str, Readout]:
        sol = self.session.solve()
        if sol.status != "optimal":
            return sol.status, sol.condition, Readout.of(self.lp, np.zeros(self.lp.matrix.shape[1]))
        self._base_cost = float(self.lp.cost[self._mine] @ sol.x[self._mine])
        return sol.status, sol.condition, Readout.of(self.lp, sol.x)

    def solve(self, p_cost: FloatArray, lower: FloatArray, upper: FloatArray) -> Level:
        self.session.change_cols(self.lp.p_cols, p_cost, lower, upper)
        sol = self.session.solve()
        if sol.status != "optimal":
            empty = np.zeros(len(p_cost))
            return Level(sol.status, sol.condition, empty, 0.0, empty)
        self._x = sol.x
        cost = float(self.lp.cost[self._mine] @ sol.x[self._mine]) - self._base_cost
        duals = sol.row_dual[self.lp.balance_rows]
        return Level(sol.status, sol.condition, sol.x[self.lp.p_cols], cost, duals)

    def readout(self) -> Readout:
        return Readout.of(self.lp, self._x)


class _DeviceCostSolver(Protocol):
    """The storage solvers' common face: the baseline with its device cost, then solves
    reporting the portfolio's device cost (not yet relative to the baseline)."""

    def baseline(self) -> tuple[SolveStatus, str, Readout, float]: ...

    def solve(
        self, p_cost: FloatArray, lower: FloatArray, upper: FloatArray
    ) -> StorageSolution: ...

    def readout(self) -> Readout: ...


class AgainstBaseline:
    """A `_DeviceCostSolver` as a `PortfolioSolver`: costs relative to the baseline, and the
    pricing rounds in the condition when the solver counts them (`rounds_of`)."""

    def __init__(self, inner: _DeviceCostSolver, rounds_of: str | None) -> None:
        self.inner = inner
        self.rounds_of = rounds_of
        self._base_cost = 0.0

    def baseline(self) -> tuple[SolveStatus, str, Readout]:
        status, condition, readout, cost = self.inner.baseline()
        self._base_cost = cost
        return status, condition, readout

    def solve(self, p_cost: FloatArray, lower: FloatArray, upper: FloatArray) -> Level:
        sol = self.inner.solve(p_cost, lower, upper)
        condition = sol.condition
        if self.rounds_of is not None:
            condition = f"{sol.condition} after {sol.rounds} {self.rounds_of} rounds"
        return Level(
            sol.status, condition, sol.p_kw, sol.device_cost_eur - self._base_cost, sol.duals
        )

    def readout(self) -> Readout:
        return self.inner.readout()


class Decomposed:
    def __init__(self, data: AggregationInput, terms: RequestTerms) -> None:
        self.dw = Decomposition(
            data.prosumers,
            data.slots,
            data.slot_hours,
            terms.energy_price_eur_per_mwh,
            terms.requested,
            data.options.chunk_prosumers,
            data.options.time_limit_s,
        )
        self._base_cost = 0.0
        self._duals = np.zeros(0)

    def baseline(self) -> tuple[SolveStatus, str, Readout]:
        status, readout, costs = self.dw.baseline()
        self._base_cost = float(costs.sum()) if status == "optimal" else 0.0
        return status, status, readout

    def solve(self, p_cost: FloatArray, lower: FloatArray, upper: FloatArray) -> Level:
        sol = self.dw.solve(p_cost, lower, upper)
        self._duals = sol.duals
        return Level(
            sol.status,
            f"{sol.condition} after {sol.rounds} pricing rounds",
            sol.p_kw,
            sol.device_cost_eur - self._base_cost,
            sol.duals,
        )

    def readout(self) -> Readout:
        xs = self.dw.recover(self._duals)
        return Readout.stack([Readout.of(c.lp, x) for c, x in zip(self.dw.chunks, xs, strict=True)])


def aggregate_centralised(data: AggregationInput, progress: ProgressFn) -> AggregationResult:
    started = time.perf_counter()
    terms = RequestTerms.of(data)
    progress(0.02, "building the portfolio LP")
    choice = data.options.centralised_solver
    if choice == "auto":
        choice = "storage_window" if len(data.prosumers) <= _WINDOW_UP_TO else "prosumer_columns"
    solver: PortfolioSolver
    limit = data.options.time_limit_s

    def split() -> SplitPortfolio:
        return SplitPortfolio.of(
            data.prosumers,
            data.slots,
            data.slot_hours,
            terms.energy_price_eur_per_mwh,
            terms.requested,
        )

    if choice == "prosumer_columns":
        solver = AgainstBaseline(ProsumerColumns(split(), limit), "pricing")
    elif choice == "storage_window":
        solver = AgainstBaseline(StorageWindow(split(), limit), None)
    elif choice == "battery_split":
        batteries = StorageSplit(data.prosumers, split(), data.options.chunk_prosumers, limit)
        solver = AgainstBaseline(batteries, "battery pricing")
    elif choice == "decomposed" and len(data.prosumers) > data.options.chunk_prosumers:
        solver = Decomposed(data, terms)
    else:
        solver = SingleLp(data, terms)
    progress(0.1, "baseline")
    status, condition, base = solver.baseline()
    if status != "optimal":
        return failed(data, status, condition, "the baseline schedule has no solution")
    baseline = base.prosumption_kw.sum(axis=0)
    volume = terms.volume_kw[terms.requested]
    zero = np.zeros(len(terms.requested))

    def solve(theta: float, floor: FloatArray, ceil: FloatArray) -> Level:
        lower, upper = terms.p_bounds(baseline, floor, ceil)
        return solver.solve(terms.p_cost(theta), lower, upper)

    progress(0.3, "response to the request")
    best = solve(1.0, zero, volume)
    if best.status != "optimal":
        return failed(data, best.status, best.condition, "the response to the request failed")
    progress(0.4, "setpoints")
    readout = solver.readout()
    steps = offer_curve(data, terms, baseline, best, solve, progress)
    return assemble(
        data,
        readout=readout,
        baseline_kw=base.prosumption_kw,
        discomfort_base_eur=base.discomfort_eur,
        flex_price_eur_per_mwh=terms.flex_price_from_duals(best.duals),
        offer_steps=steps,
        condition=best.condition,
        seconds=time.perf_counter() - started,
    )


def offer_curve(
    data: AggregationInput,
    terms: RequestTerms,
    baseline: FloatArray,
    best: Level,
    solve: _Solve,
    progress: ProgressFn,
) -> list[OfferStep]:
    k_max = data.options.offer_steps
    top = terms.flexibility_kw(baseline, best.p_kw)
    value = terms.price_eur_per_mwh[terms.requested] / 1000 * terms.slot_hours  # EUR per kW
    markup = 1.0 + data.options.offer_markup_fraction
    previous = np.zeros(len(terms.requested))
    previous_cost = 0.0
    steps: list[OfferStep] = []
    for k in range(1, k_max + 1):
        theta = k / k_max
        if k < k_max:
            progress(0.4 + 0.55 * k / k_max, f"offer step {k} of {k_max}")
            sol = solve(theta, previous, np.maximum(top, previous))
            if sol.status != "optimal":
                continue  # the step merges into the next level
        else:
            sol = best
        level = np.maximum(terms.flexibility_kw(baseline, sol.p_kw), previous)
        increment = np.where(level - previous > _EPS_KW, level - previous, 0.0)
        worth = float(value @ increment)
        if worth <= 1e-12 or not np.any(increment):
            continue
        # The exact incremental cost per unit of value; optimality of both levels puts it in
        # [theta_{k-1}, theta_k] up to solver tolerance, which the clip removes.
        ratio = float(np.clip((sol.cost_eur - previous_cost) / worth, (k - 1) / k_max, theta))
        for j in np.flatnonzero(increment):
            slot = int(terms.requested[j])
            steps.append(
                OfferStep(
                    slot=slot,
                    start=data.slot_start(slot),
                    price_eur_per_mwh=round(
                        ratio * markup * float(terms.price_eur_per_mwh[slot]), 6
                    ),
                    p_mw=float(increment[j]) / 1000,
                    cumulative_mw=float(level[j]) / 1000,
                )
            )
        previous, previous_cost = level, sol.cost_eur
    return sorted(steps, key=lambda s: (s.slot, s.price_eur_per_mwh))


class _Solve(Protocol):
    def __call__(self, theta: float, floor: FloatArray, ceil: FloatArray) -> Level: ...
