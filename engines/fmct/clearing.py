"""Clearing dispatcher: ``clear(net, schedules, requests, offers, options) -> ClearingResult``.

Model of the market (see ``schema`` for signs): base schedules are fixed; offers are the only
controllable resources besides the coupling point, which is either fixed at its scheduled exchange
(``upstream_price_eur_per_mwh=None``, energy-neutral redispatch: every change, losses included, is
balanced by offers and requests) or a priced source (a TLMP). Requests are buy orders located at their
bus. The clearing minimises offers' cost - requests' value (+ upstream cost) subject to the AC network:
thermal limits (current, as pandapower's loading) and voltage limits, with the external grid and
generators holding their voltage set-points. Periods without intertemporal links are separate models.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import numpy as np

from engines.fmct.acopf import OpfSolution, Units
from engines.fmct.active_set import solve_reduced_opf
from engines.fmct.market import PeriodFlex, book_period_flex, order_book, validate, without
from engines.fmct.milp import MilpModel, solve_milp
from engines.fmct.network import Grid, GridSeries, unknown_elements
from engines.fmct.pricing import SettledPeriod, settle
from engines.fmct.report import period_result, residual_violation
from engines.fmct.schema import (
    ClearingOffer,
    ClearingOptions,
    ClearingRequest,
    ClearingResult,
    Finding,
    PeriodSchedule,
)

Progress = Callable[[float, str], None] | None
T = TypeVar("T")
R = TypeVar("R")
# A run of consecutive periods for a worker: (the pickled net; the schedules; their variables, or
# None to build the grids only; the options)
Chunk = tuple[bytes, "list[PeriodSchedule | None]", "list[PeriodFlex] | None", ClearingOptions]
CHUNKS_PER_WORKER = 2  # several chunks per worker even out periods that solve slower
ACOPF_REL_TOL = 1e-6  # relative accuracy of an interior-point objective (the NLP tolerance is 1e-8)


def clearing_units(grid: Grid, options: ClearingOptions) -> Units:
    """Schedules fixed; the coupling point fixed or priced; voltage set-points held."""
    ng = len(grid.gen_ids)
    pmin, pmax = grid.gen_pg.copy(), grid.gen_pg.copy()
    c1 = np.zeros(ng)
    qmin = np.where(np.isnan(grid.gen_qmin), -np.inf, grid.gen_qmin)
    qmax = np.where(np.isnan(grid.gen_qmax), np.inf, grid.gen_qmax)
    ref = grid.gen_is_ref
    qmin[ref], qmax[ref] = -np.inf, np.inf
    if options.upstream_price_eur_per_mwh is not None:
        pmin[ref], pmax[ref] = -np.inf, np.inf
        c1[ref] = options.upstream_price_eur_per_mwh
    zeros = np.zeros(ng)
    return Units(pmin, pmax, qmin, qmax, zeros, c1, zeros.copy(), fix_vm=np.ones(ng, dtype=bool))


def _solve_period(args: tuple[Grid, PeriodFlex, ClearingOptions]) -> OpfSolution:
    grid, pf, options = args
    return solve_reduced_opf(
        grid,
        clearing_units(grid, options),
        pf.flex,
        limit="current",
        limit_scale=options.loading_max_percent / 100.0,
        time_limit_s=options.time_limit_s,
    )


def _chunk(task: Chunk) -> list[tuple[Grid, OpfSolution | None]]:
    """Base power flows of consecutive periods and, with variables, their AC-OPFs."""
    source, plan, flexes, options = task
    net = pickle.loads(source)  # noqa: S301  (bytes we pickled ourselves; a private copy)
    series = GridSeries(net, v_min_pu=options.v_min_pu, v_max_pu=options.v_max_pu, copy_net=False)
    out: list[tuple[Grid, OpfSolution | None]] = []
    for t, schedule in enumerate(plan):
        grid = series.grid(schedule)
        out.append((grid, _solve_period((grid, flexes[t], options)) if flexes else None))
    return out


def _map(fn: Callable[[T], R], args: list[T], workers: int) -> list[R]:
    """``fn`` over ``args``, in ``workers`` processes when there is more than one task.

    Periods without intertemporal links are independent models: solving them apart, in parallel,
    is exact and much faster than one joint model (ripopt's cost grows with its size).
    """
    if workers > 1 and len(args) > 1:
        # fork: workers inherit the imported modules (a fresh interpreter would spend seconds
        # importing pandapower and pyomo on every clearing)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(args)), mp_context=context) as pool:
            return list(pool.map(fn, args))
    return [fn(a) for a in args]


def _periods(
    net: Any,
    probe: tuple[GridSeries, Grid],
    plan: Sequence[PeriodSchedule | None],
    flexes: Sequence[PeriodFlex] | None,
    options: ClearingOptions,
    workers: int,
) -> tuple[list[Grid], list[OpfSolution | None]]:
    """Grids and, with ``flexes``, AC-OPF solutions of every period, in order. ``probe`` is the
    series that already built the first period's grid (continued when running in-process)."""
    n = len(plan)
    if workers <= 1 or n <= 1:
        series, first = probe
        grids = [first, *(series.grid(s) for s in plan[1:])]
        if not flexes:
            return grids, [None] * n
        return grids, [_solve_period((g, f, options)) for g, f in zip(grids, flexes, strict=True)]
    size = max(1, -(-n // (workers * CHUNKS_PER_WORKER)))
    source = pickle.dumps(net)  # once, not once per chunk
    tasks: list[Chunk] = [
        (source, list(plan[a : a + size]), list(flexes[a : a + size]) if flexes else None, options)
        for a in range(0, n, size)
    ]
    out = [item for chunk in _map(_chunk, tasks, workers) for item in chunk]
    return [g for g, _ in out], [s for _, s in out]


def _clean(added: float, noise: float) -> float:
    """A participant's added cost is >= 0 in exact arithmetic (its removal only shrinks the feasible
    set of the same model); a negative value within the solvers' tolerance is noise and reads 0.
    Anything below that is left as is: settle() reports it."""
    return 0.0 if -noise <= added < 0.0 else added


def _error(
    options: ClearingOptions, condition: str, message: str, findings: list[Finding], started: float
) -> ClearingResult:
    return ClearingResult(
        status="error",
        condition=condition,
        message=message,
        method=options.method,
        pricing=options.pricing,
        solve_time_s=time.perf_counter() - started,
        findings=findings,
    )


def clear(
    net: Any,
    schedules: Sequence[PeriodSchedule],
    requests: Sequence[ClearingRequest],
    offers: Sequence[ClearingOffer],
    options: ClearingOptions | None = None,
    progress: Progress = None,
    workers: int = 1,
) -> ClearingResult:
    """Clear the market; ``net`` is not modified. Failures come back as statuses, not exceptions."""
    opts = options or ClearingOptions()
    started = time.perf_counter()
    say = progress or (lambda _f, _m: None)
    say(0.0, "power flow of the base schedules")
    plan: list[PeriodSchedule | None] = list(schedules) or [None]
    probe = GridSeries(net, v_min_pu=opts.v_min_pu, v_max_pu=opts.v_max_pu)
    first = probe.grid(plan[0])
    durations = [s.duration_h for s in schedules] or [1.0]
    indices = [s.period_index for s in schedules] or [0]
    bus_index = probe.bus_index
    findings = list(first.findings)
    findings += [f for s in plan[1:] if s is not None for f in unknown_elements(net, s)]
    findings += validate(offers, requests, bus_index)
    if any(f.severity == "error" for f in findings):
        return _error(
            opts,
            "invalid_input",
            "; ".join(f"{f.element}: {f.message}" for f in findings if f.severity == "error"),
            findings,
            started,
        )
    book = order_book(offers, requests, bus_index)
    flexes = [book_period_flex(book, t, first.base_mva) for t in indices]
    linked = any(
        o.block
        or o.min_activation_mw > 0
        or o.energy_limit_mwh is not None
        or o.ramp_mw_per_period is not None
        for o in offers
    )
    say(0.1, f"solving {opts.method}")
    lin_err: float | None = None
    milp_model: MilpModel | None = None
    if opts.method == "acopf":
        if linked:
            return _error(
                opts,
                "unsupported",
                "block, minimum-activation, energy-limited and ramping offers need method='milp'",
                findings,
                started,
            )
        grids, solved = _periods(net, (probe, first), plan, flexes, opts, workers)
        sols = [s for s in solved if s is not None]
    else:
        grids, _ = _periods(net, (probe, first), plan, None, opts, workers)
        milp_out = solve_milp(grids, flexes, offers, indices, durations, opts)
        sols, lin_err = milp_out.solutions, milp_out.linearisation_error_eur
        milp_model = milp_out.model
        findings += milp_out.findings
    bad = [s for s in sols if s.status != "optimal"]
    if bad:
        worst = bad[0]
        return ClearingResult(
            status=worst.status,  # type: ignore[arg-type]
            condition=worst.condition,
            message=f"{len(bad)} of {len(sols)} periods not solved: {worst.message}",
            method=opts.method,
            pricing=opts.pricing,
            solve_time_s=time.perf_counter() - started,
            findings=findings,
        )
    objs = [s.objective * d for s, d in zip(sols, durations, strict=True)]
    objective = float(sum(objs))
    say(0.8, f"pricing: {opts.pricing}")
    settled = [
        SettledPeriod(f, s.x * g.base_mva, s.lam_p, s.lam_q, d)
        for g, f, s, d in zip(grids, flexes, sols, durations, strict=True)
    ]

    def mask(f: PeriodFlex, kind: int, owners: set[int]) -> np.ndarray:
        return (f.owner_kind == kind) & np.isin(f.owner, list(owners))  # type: ignore[no-any-return]

    def added_cost(kind: int, owners: set[int]) -> float | None:
        """Objective without ``owners`` minus objective with them, over all periods, from the same
        model as the clearing (None: infeasible without them)."""
        if milp_model is not None:
            alt_obj = milp_model.objective_without([mask(f, kind, owners) for f in flexes])
            if alt_obj is None:
                return None
            return _clean(alt_obj - milp_model.objective_eur, milp_model.noise_eur(alt_obj))
        total, scale = 0.0, 1.0
        for t, (g, f, s) in enumerate(zip(grids, flexes, sols, strict=True)):
            if not (mask(f, kind, owners) & (s.x > 1e-9)).any():
                continue  # removing variables that are zero at the optimum leaves it optimal
            alt = _solve_period((g, without(f, kind, owners), opts))
            if alt.status != "optimal":
                return None
            total += (alt.objective - s.objective) * durations[t]
            scale += (abs(alt.objective) + abs(s.objective)) * durations[t]
        return _clean(total, ACOPF_REL_TOL * scale)

    st = settle(opts.pricing, settled, offers, requests, added_cost)
    periods = [
        period_result(g, f, s, t, offers, requests, opts)
        for g, f, s, t in zip(grids, flexes, sols, indices, strict=True)
    ]
    say(1.0, "done")
    return ClearingResult(
        status="optimal",
        condition=sols[0].condition,
        message="",
        method=opts.method,
        pricing=opts.pricing,
        objective_eur=objective,
        solve_time_s=time.perf_counter() - started,
        periods=periods,
        payments=st.payments,
        budget_balance_eur=st.budget_balance_eur,
        all_offers_paid_at_least_price=st.all_offers_paid_at_least_price,
        residual_violation=max(residual_violation(p, opts) for p in periods),
        linearisation_error_eur=lin_err,
        findings=findings + st.findings,
    )
