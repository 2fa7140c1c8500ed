"""Exact AC-OPF (polar voltages, branch flows as variables) in pyomo, solved by ripopt.

Nodal prices are the duals of the nodal balances. A balance is written ``injections - flows - shunt ==
fixed withdrawal``; ripopt (like Ipopt through pyomo) reports ``dual = -d objective / d rhs``, so the price
of one more MWh withdrawn at a bus is ``-dual / base_mva`` (EUR/MWh when the objective is EUR/h). At an
unconstrained, priced slack this equals the slack's price, and prices elsewhere are that price times the
loss factors.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pyomo.environ as pyo
import pyomo_ripopt  # noqa: F401  (registers the "ripopt" solver with pyomo)
from pyomo.common.errors import ApplicationError, InfeasibleConstraintException
from pyomo.core.expr.numeric_expr import LinearExpression

from engines.fmct.network import FloatArray, Grid, IntArray

BranchLimit = Literal["current", "apparent"]


@dataclass(frozen=True)
class Units:
    """Dispatchable units per ppc gen row; fixed where ``pmin == pmax``. Costs use MW (as MATPOWER)."""

    pmin: FloatArray
    pmax: FloatArray
    qmin: FloatArray
    qmax: FloatArray
    c2: FloatArray
    c1: FloatArray
    c0: FloatArray
    fix_vm: np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class Flex:
    """Flexibility variables x_k in [0, ub_k] (pu): injection sign_k * x_k at bus_k, cost_k EUR/MWh."""

    bus: IntArray
    is_q: np.ndarray[Any, np.dtype[np.bool_]]
    sign: FloatArray
    ub: FloatArray
    cost: FloatArray

    @staticmethod
    def empty() -> Flex:
        z = np.zeros(0)
        return Flex(np.zeros(0, np.int64), np.zeros(0, bool), z, z, z)


@dataclass(frozen=True)
class OpfSolution:
    status: str
    condition: str
    message: str
    objective: float
    solve_time_s: float
    vm: FloatArray
    va: FloatArray
    sf: np.ndarray[Any, np.dtype[np.complex128]]
    st: np.ndarray[Any, np.dtype[np.complex128]]
    pg: FloatArray
    qg: FloatArray
    x: FloatArray
    lam_p: FloatArray
    lam_q: FloatArray
    mu_branch: FloatArray


def _status(condition: pyo.TerminationCondition) -> tuple[str, str]:
    tc = pyo.TerminationCondition
    if condition in (tc.optimal, tc.locallyOptimal, tc.globallyOptimal):
        return "optimal", ""
    if condition in (tc.infeasible, tc.invalidProblem):
        return "infeasible", "the solver proved the constraints inconsistent"
    if condition in (tc.maxTimeLimit,):
        return "time_limit", "the time limit was reached"
    if condition in (tc.maxIterations, tc.maxEvaluations):
        # ripopt reports an unreachable feasible set this way rather than as "infeasible".
        return "infeasible", "no feasible point found within the iteration limit"
    return "error", f"solver ended with {condition}"


@dataclass(frozen=True)
class Start:
    """Initial point of a solve (a warm start from an earlier solution of a similar model)."""

    vm: FloatArray
    va: FloatArray
    x: FloatArray


def _build(
    grid: Grid,
    units: Units,
    flex: Flex,
    limit: BranchLimit,
    limit_scale: float,
    thermal: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    start: Start | None = None,
    max_gradient: float = 0.0,
    shares: bool = True,
) -> Any:
    nb, nl, ng, nx = grid.n_bus, grid.n_branch, len(units.pmin), len(flex.bus)
    vm0, va0 = (grid.vm, grid.va) if start is None else (start.vm, start.va)
    m = pyo.ConcreteModel()
    # shares: x[k] is the accepted share of variable k's volume (see the comment at m.x); otherwise pu
    unit = np.where(flex.ub > 0.0, flex.ub, 1.0) if shares else np.ones(nx)
    m.x_unit = unit
    m.vm = pyo.Var(range(nb), initialize=lambda _m, b: float(vm0[b]))
    m.va = pyo.Var(range(nb), initialize=lambda _m, b: float(va0[b]))
    m.pf = pyo.Var(range(nl))
    m.qf = pyo.Var(range(nl))
    m.pt = pyo.Var(range(nl))
    m.qt = pyo.Var(range(nl))
    m.pg = pyo.Var(range(ng))
    m.qg = pyo.Var(range(ng))
    # As shares (0..1), offers of 1e-4 pu next to prices of 1e4 EUR per pu no longer make a badly
    # scaled problem on which ripopt stalls (MATPOWER case1197, 10,000 offers)
    m.x = pyo.Var(range(nx), initialize=0.0)
    for b in range(nb):
        m.vm[b].setlb(float(grid.vmin[b]))
        m.vm[b].setub(float(grid.vmax[b]))
        if not grid.active[b]:
            m.vm[b].fix(1.0)
            m.va[b].fix(0.0)
    m.va[grid.ref_bus].fix(float(grid.va[grid.ref_bus]))
    for g in range(ng):
        b = int(grid.gen_bus[g])
        if units.pmin[g] == units.pmax[g]:
            m.pg[g].fix(float(units.pmin[g]))
        else:
            m.pg[g].setlb(_finite(units.pmin[g]))
            m.pg[g].setub(_finite(units.pmax[g]))
            m.pg[g].set_value(float(np.clip(grid.gen_pg[g], units.pmin[g], units.pmax[g])))
        m.qg[g].setlb(_finite(units.qmin[g]))
        m.qg[g].setub(_finite(units.qmax[g]))
        if units.fix_vm[g] and grid.active[b]:
            m.vm[b].fix(float(grid.gen_vg[g]))
    for k in range(nx):
        if flex.ub[k] > 0.0:
            top = float(flex.ub[k] / unit[k])
            m.x[k].setlb(0.0)
            m.x[k].setub(top)
            if start is not None:
                m.x[k].set_value(float(np.clip(start.x[k] / unit[k], 0.0, top)))
        else:
            m.x[k].fix(0.0)
    # Branch flows as variables (MATPOWER style): each flow equation touches four voltage variables only.
    vf, vt = (
        vm0[grid.f] * np.exp(1j * va0[grid.f]),
        vm0[grid.t] * np.exp(1j * va0[grid.t]),
    )
    s_f0 = vf * np.conj(grid.yff * vf + grid.yft * vt)
    s_t0 = vt * np.conj(grid.ytf * vf + grid.ytt * vt)
    for l_ in range(nl):
        m.pf[l_].set_value(float(s_f0[l_].real))
        m.qf[l_].set_value(float(s_f0[l_].imag))
        m.pt[l_].set_value(float(s_t0[l_].real))
        m.qt[l_].set_value(float(s_t0[l_].imag))

    def _flow(i: int, j: int, y_ii: complex, y_ij: complex) -> tuple[Any, Any]:
        d = m.va[i] - m.va[j]
        vv = m.vm[i] * m.vm[j]
        g, b, gc_, bc = y_ii.real, y_ii.imag, y_ij.real, y_ij.imag
        p = g * m.vm[i] ** 2 + vv * (gc_ * pyo.cos(d) + bc * pyo.sin(d))
        q = -b * m.vm[i] ** 2 + vv * (gc_ * pyo.sin(d) - bc * pyo.cos(d))
        return p, q

    m.flow = pyo.ConstraintList()
    m.thermal_f = pyo.Constraint(pyo.Any)
    m.thermal_t = pyo.Constraint(pyo.Any)
    for l_ in range(nl):
        f, t = int(grid.f[l_]), int(grid.t[l_])
        p, q = _flow(f, t, complex(grid.yff[l_]), complex(grid.yft[l_]))
        m.flow.add(m.pf[l_] == p)
        m.flow.add(m.qf[l_] == q)
        p, q = _flow(t, f, complex(grid.ytt[l_]), complex(grid.ytf[l_]))
        m.flow.add(m.pt[l_] == p)
        m.flow.add(m.qt[l_] == q)
        rate = float(grid.rating[l_]) * limit_scale
        if np.isfinite(rate) and (thermal is None or thermal[l_]):
            vf2 = m.vm[f] ** 2 if limit == "current" else 1.0
            vt2 = m.vm[t] ** 2 if limit == "current" else 1.0
            m.thermal_f[l_] = m.pf[l_] ** 2 + m.qf[l_] ** 2 <= rate**2 * vf2
            m.thermal_t[l_] = m.pt[l_] ** 2 + m.qt[l_] ** 2 <= rate**2 * vt2

    # Group every variable by bus once; scanning all offers inside each bus rule is the slow pattern.
    p_terms: list[list[tuple[float, Any]]] = [[] for _ in range(nb)]
    q_terms: list[list[tuple[float, Any]]] = [[] for _ in range(nb)]
    for g in range(ng):
        b = int(grid.gen_bus[g])
        p_terms[b].append((1.0, m.pg[g]))
        q_terms[b].append((1.0, m.qg[g]))
    for l_ in range(nl):
        f, t = int(grid.f[l_]), int(grid.t[l_])
        p_terms[f].append((-1.0, m.pf[l_]))
        q_terms[f].append((-1.0, m.qf[l_]))
        p_terms[t].append((-1.0, m.pt[l_]))
        q_terms[t].append((-1.0, m.qt[l_]))
    for k in range(nx):
        target = q_terms if flex.is_q[k] else p_terms
        target[int(flex.bus[k])].append((float(flex.sign[k] * unit[k]), m.x[k]))

    def _lin(terms: list[tuple[float, Any]]) -> Any:
        return LinearExpression(
            constant=0.0, linear_coefs=[c for c, _ in terms], linear_vars=[v for _, v in terms]
        )

    m.p_bal = pyo.Constraint(pyo.Any)
    m.q_bal = pyo.Constraint(pyo.Any)
    for b in range(nb):
        if not grid.active[b]:
            continue
        m.p_bal[b] = _lin(p_terms[b]) - float(grid.gs[b]) * m.vm[b] ** 2 == float(grid.pd[b])
        m.q_bal[b] = _lin(q_terms[b]) + float(grid.bs[b]) * m.vm[b] ** 2 == float(grid.qd[b])

    base = grid.base_mva
    scale = objective_scale(grid, units, flex, unit, max_gradient or MAX_GRADIENT)
    m.obj_scale = scale
    cost_terms = [
        (float(c * u) * base / scale, m.x[k])
        for k, (c, u) in enumerate(zip(flex.cost, unit, strict=True))
    ]
    lin_units = [
        (float(units.c1[g]) * base / scale, m.pg[g]) for g in range(ng) if units.c1[g] != 0.0
    ]
    quad = sum(
        float(units.c2[g]) * base**2 / scale * m.pg[g] ** 2 for g in range(ng) if units.c2[g] != 0.0
    )
    m.obj = pyo.Objective(
        expr=_lin(cost_terms + lin_units) + quad + float(np.sum(units.c0)) / scale
    )
    m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    return m


MAX_GRADIENT = 100.0  # Ipopt's nlp_scaling_max_gradient default, which ripopt does not apply
# (max gradient, offers as shares) per attempt. A solve that breaks down numerically is retried in
# plain pu without objective scaling: on near-degenerate markets (an offer priced at a rival's
# loss-adjusted price) ripopt ends there at its acceptable level where the scaled model can break
# down; the scaled model first, as it is the one that solves the large feeders.
FORMULATIONS = ((MAX_GRADIENT, True), (np.inf, False))


def objective_scale(
    grid: Grid, units: Units, flex: Flex, unit: FloatArray, max_gradient: float = MAX_GRADIENT
) -> float:
    """Divisor that brings the objective's largest coefficient down to ``MAX_GRADIENT``.

    A unit's coefficient is its price x base MVA per pu (1e4 for 100 EUR/MWh on a 100 MVA base; a
    priced coupling point, MATPOWER generators); ripopt, unlike Ipopt, does not scale such an
    objective and can stall at a dual infeasibility its tolerance counts as unsolved. Offers enter as
    shares of their volume (see ``_build``), so their coefficients are their full cost. Scaling further
    (to 1) would loosen the effective tolerance on the objective by the same factor. Every dual
    scales with the objective; ``_extract`` multiplies it back.
    """
    base = grid.base_mva
    coefs = np.abs(np.r_[flex.cost * unit * base, units.c1 * base, units.c2 * base**2])
    return float(max(1.0, coefs.max(initial=0.0) / max_gradient))


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def solve_opf(
    grid: Grid,
    units: Units,
    flex: Flex,
    *,
    limit: BranchLimit = "current",
    limit_scale: float = 1.0,
    time_limit_s: float = 300.0,
    thermal: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    start: Start | None = None,
) -> OpfSolution:
    """Build and solve one AC-OPF; never raises for solver failures (status carries them).

    ``thermal`` selects the branches whose limits are in the model (None: all); ``start`` is the
    initial point (None: the grid's power-flow point, no flexibility activated).
    """
    started = time.perf_counter()
    first, *retries = FORMULATIONS
    args = (grid, units, flex, limit, limit_scale, thermal, start)
    sol = _solve_once(*args, *first, time_limit_s)
    for formulation in retries:
        left = time_limit_s - (time.perf_counter() - started)
        # a numerical breakdown (not a verdict on the model) gets one more try, scaled further
        breakdown = sol.condition == str(pyo.TerminationCondition.internalSolverError)
        if sol.status != "error" or not breakdown or left < 1.0:
            break
        sol = _solve_once(*args, *formulation, left)
    return replace(sol, solve_time_s=time.perf_counter() - started)


def _solve_once(
    grid: Grid,
    units: Units,
    flex: Flex,
    limit: BranchLimit,
    limit_scale: float,
    thermal: np.ndarray[Any, np.dtype[np.bool_]] | None,
    start: Start | None,
    max_gradient: float,
    shares: bool,
    time_limit_s: float,
) -> OpfSolution:
    started = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the build allocates many small objects; collection passes only slow it down
    try:
        m = _build(grid, units, flex, limit, limit_scale, thermal, start, max_gradient, shares)
    finally:
        if gc_was_enabled:
            gc.enable()
    solver = pyo.SolverFactory("ripopt")
    solver.options["max_wall_time"] = max(time_limit_s, 1.0)
    solver.options["tol"] = 1e-8
    solver.options["max_iter"] = 1000
    solver.options["print_level"] = 0  # pyomo reads the .sol file; the log only costs time
    try:
        res = solver.solve(m, load_solutions=False)
    except InfeasibleConstraintException as exc:
        # e.g. a generator's voltage set-point outside the bus's voltage band: no point can exist
        return _failed(grid, units, flex, "infeasible", "trivially_infeasible", str(exc), started)
    except (ApplicationError, RuntimeError, ValueError) as exc:
        return _failed(grid, units, flex, "error", type(exc).__name__, str(exc), started)
    condition = res.solver.termination_condition
    status, message = _status(condition)
    if status != "optimal":
        return _failed(grid, units, flex, status, str(condition), message, started)
    m.solutions.load_from(res)
    return _extract(m, grid, units, flex, str(condition), started)


def _failed(
    grid: Grid, units: Units, flex: Flex, status: str, condition: str, message: str, started: float
) -> OpfSolution:
    nb, nl, ng = grid.n_bus, grid.n_branch, len(units.pmin)
    nan_b = np.full(nb, np.nan)
    return OpfSolution(
        status=status,
        condition=condition,
        message=message,
        objective=float("nan"),
        solve_time_s=time.perf_counter() - started,
        vm=grid.vm.copy(),
        va=grid.va.copy(),
        sf=np.full(nl, np.nan + 0j),
        st=np.full(nl, np.nan + 0j),
        pg=np.full(ng, np.nan),
        qg=np.full(ng, np.nan),
        x=np.zeros(len(flex.bus)),
        lam_p=nan_b,
        lam_q=nan_b.copy(),
        mu_branch=np.zeros(nl),
    )


def _extract(
    m: Any, grid: Grid, units: Units, flex: Flex, condition: str, started: float
) -> OpfSolution:
    nb, nl, ng, nx = grid.n_bus, grid.n_branch, len(units.pmin), len(flex.bus)

    def vals(var: Any, n: int) -> FloatArray:
        return np.array([pyo.value(var[i]) for i in range(n)], dtype=float)

    # An interior point stops up to its tolerance outside the bounds (x = -1e-9 on thousands of
    # rejected offers adds up to cents): report the cost of the dispatch returned, within bounds.
    for k in range(nx):
        value = m.x[k].value
        top = flex.ub[k] / m.x_unit[k] if flex.ub[k] > 0.0 else 0.0
        if value is not None and not 0.0 <= value <= top:
            m.x[k].set_value(float(np.clip(value, 0.0, top)), skip_validation=True)
    scale = float(m.obj_scale)
    per_mw = scale / grid.base_mva
    lam_p, lam_q = np.full(nb, np.nan), np.full(nb, np.nan)
    for b in range(nb):
        if b in m.p_bal:
            lam_p[b] = -m.dual.get(m.p_bal[b], np.nan) * per_mw
            lam_q[b] = -m.dual.get(m.q_bal[b], np.nan) * per_mw
    mu = np.zeros(nl)
    for l_ in range(nl):
        if l_ in m.thermal_f:
            mu[l_] = scale * (
                abs(m.dual.get(m.thermal_f[l_], 0.0)) + abs(m.dual.get(m.thermal_t[l_], 0.0))
            )
    return OpfSolution(
        status="optimal",
        condition=condition,
        message="",
        objective=float(pyo.value(m.obj)) * scale,
        solve_time_s=time.perf_counter() - started,
        vm=vals(m.vm, nb),
        va=vals(m.va, nb),
        sf=vals(m.pf, nl) + 1j * vals(m.qf, nl),
        st=vals(m.pt, nl) + 1j * vals(m.qt, nl),
        pg=vals(m.pg, ng),
        qg=vals(m.qg, ng),
        x=vals(m.x, nx) * m.x_unit,
        lam_p=lam_p,
        lam_q=lam_q,
        mu_branch=mu,
    )
