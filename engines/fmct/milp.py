"""MILP clearing (HiGHS) on a linearised AC power flow, verified and corrected by AC power flow.

The linearisation (``sensitivity``) keeps the voltage state as variables tied to the injections by the
sparse power-flow Jacobian: the same linear model as loss sensitivities, with a few nonzeros per bus
instead of a dense sensitivity matrix (1,197 buses: 0.3 s instead of about a minute).

All periods are one model (energy limits and ramps link them). Loop: linearise every period at its AC
operating point, solve the MILP, run the AC power flow with the dispatch, tighten the ratings of the
branches the AC flow still overloads, re-linearise there; stop when the AC violations are within the
tolerance. Thermal limits are a 16-facet polygon on (P, Q) at each end scaled by the end's voltage
(a current limit, as pandapower's loading). Prices come from the LP with the integers fixed: the dual of
each nodal balance row ``sum(sign * x) - p_b = withdrawal_b`` is d objective / d withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from engines.fmct.acopf import OpfSolution
from engines.fmct.market import PeriodFlex
from engines.fmct.network import Grid
from engines.fmct.schema import ClearingOffer, ClearingOptions, Finding
from engines.fmct.sensitivity import Linearisation, branch_flows, linearise, power_flow
from engines.highs_model import column_lp, quiet_highs

FACETS = 16
# HiGHS tolerances, set explicitly so that the clearing and its VCG re-solves share them
PRIMAL_FEASIBILITY_TOL = 1e-7
MIP_REL_GAP = 1e-6
MIP_ABS_GAP = 1e-6
_ANGLES = 2 * np.pi * np.arange(FACETS) / FACETS


@dataclass
class _Builder:
    cost: list[float] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    # coefficients in chunks (one array per row or block of rows), joined when solving
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    rlo: list[float] = field(default_factory=list)
    rhi: list[float] = field(default_factory=list)

    def var(
        self,
        n: int,
        lb: float | np.ndarray = -np.inf,
        ub: float | np.ndarray = np.inf,
        cost: float | np.ndarray = 0.0,
        integer: bool = False,
    ) -> np.ndarray:
        start = len(self.cost)
        self.cost.extend(np.broadcast_to(cost, n).tolist())
        self.lb.extend(np.broadcast_to(lb, n).tolist())
        self.ub.extend(np.broadcast_to(ub, n).tolist())
        self.integer.extend([integer] * n)
        return np.arange(start, start + n)

    def row(
        self,
        cols: Sequence[int] | np.ndarray,
        vals: Sequence[float] | np.ndarray,
        lo: float,
        hi: float,
    ) -> int:
        r = len(self.rlo)
        self.rows.append(np.full(len(cols), r, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.rlo.append(lo)
        self.rhi.append(hi)
        return r

    def block(
        self, a: Any, cols: np.ndarray, lo: float | np.ndarray, hi: float | np.ndarray
    ) -> np.ndarray:
        """Rows ``lo <= a @ x[cols] <= hi`` for a sparse matrix ``a``; returns their row numbers."""
        coo = sp.coo_matrix(a)
        start, n = len(self.rlo), coo.shape[0]
        self.rows.append(coo.row.astype(np.int64) + start)
        self.cols.append(np.asarray(cols, dtype=np.int64)[coo.col])
        self.vals.append(coo.data.astype(float))
        self.rlo.extend(np.broadcast_to(lo, n).tolist())
        self.rhi.extend(np.broadcast_to(hi, n).tolist())
        return np.arange(start, start + n)

    def solve(
        self,
        time_limit: float,
        fix: dict[int, float] | None = None,
        zero: np.ndarray | None = None,
    ) -> tuple[str, np.ndarray, np.ndarray, float]:
        """Solve; ``fix`` pins columns (and relaxes integrality: the pricing LP), ``zero`` sets the
        upper bounds of columns to zero (the VCG re-solves). Everything else is the same model."""
        n, m = len(self.cost), len(self.rlo)
        a = sp.csc_matrix(
            (
                np.concatenate(self.vals or [np.zeros(0)]),
                (
                    np.concatenate(self.rows or [np.zeros(0, np.int64)]),
                    np.concatenate(self.cols or [np.zeros(0, np.int64)]),
                ),
            ),
            shape=(m, n),
        )
        lb, ub = np.array(self.lb), np.array(self.ub)
        integer = np.array(self.integer)
        if zero is not None and len(zero):
            ub[zero] = 0.0
        if fix:
            idx = np.fromiter(fix.keys(), int)
            lb[idx] = ub[idx] = np.fromiter(fix.values(), float)
            integer[:] = False
        lp = column_lp(
            np.array(self.cost), lb, ub, a, np.array(self.rlo), np.array(self.rhi), integer
        )
        h = quiet_highs(time_limit)
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        h.setOptionValue("primal_feasibility_tolerance", PRIMAL_FEASIBILITY_TOL)
        h.setOptionValue("mip_feasibility_tolerance", PRIMAL_FEASIBILITY_TOL)
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
        ms = highspy.HighsModelStatus
        if status == ms.kUnknown:
            # the dual simplex can end undecided on an infeasible model (24 infeasible periods of
            # the 33-bus feeder with their free voltage-state columns): the interior point decides
            h.setOptionValue("solver", "ipm")
            h.run()
            status = h.getModelStatus()
        name = {
            ms.kOptimal: "optimal",
            ms.kInfeasible: "infeasible",
            ms.kTimeLimit: "time_limit",
            ms.kUnboundedOrInfeasible: "infeasible",
        }.get(status, "error")
        sol = h.getSolution()
        return (
            name,
            np.array(sol.col_value),
            np.array(sol.row_dual),
            float(h.getInfo().objective_function_value),
        )


@dataclass(frozen=True)
class MilpModel:
    """The final MILP of a clearing (the one whose dispatch was accepted) and its objective.

    VCG re-solves must use exactly this model (same linearisation points, tightened ratings, coupling
    constraint, integers and solver tolerances), only without a participant's variables: otherwise the
    "without" objective can undercut the "with" one and a seller would be paid below its bid.
    """

    builder: _Builder
    x_cols: list[np.ndarray]
    objective_eur: float
    time_limit_s: float

    def objective_without(self, masks: Sequence[np.ndarray]) -> float | None:
        """Model objective with the flagged variables (one boolean mask per period) forced to zero;
        None when that is infeasible or not solved to optimality."""
        zero = np.concatenate(
            [cols[np.asarray(m, bool)] for cols, m in zip(self.x_cols, masks, strict=True)]
        ).astype(np.int64)
        if not zero.size:
            return self.objective_eur
        status, _, _, obj = self.builder.solve(self.time_limit_s, zero=zero)
        return obj if status == "optimal" else None

    def noise_eur(self, other: float) -> float:
        """How far two optimal objectives of this model (this one and ``other``) can be apart from
        solver tolerances alone: the MIP gaps plus every variable off by the feasibility tolerance."""
        gaps = MIP_REL_GAP * (abs(self.objective_eur) + abs(other)) + 2 * MIP_ABS_GAP
        return gaps + PRIMAL_FEASIBILITY_TOL * float(np.abs(self.builder.cost).sum())


@dataclass(frozen=True)
class MilpOutput:
    solutions: list[OpfSolution]
    linearisation_error_eur: float | None
    findings: list[Finding]
    model: MilpModel | None = None


@dataclass(frozen=True)
class _Index:
    x: np.ndarray
    p_rows: dict[int, int]
    q_rows: dict[int, int]
    v_rows: dict[int, int]
    cap_rows: dict[tuple[int, int], tuple[list[int], float]]


def _injections(grid: Grid, pf: PeriodFlex, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flex injections per bus (pu)."""
    f = pf.flex
    p = np.zeros(grid.n_bus)
    q = np.zeros(grid.n_bus)
    np.add.at(p, f.bus[~f.is_q], f.sign[~f.is_q] * x[~f.is_q])
    np.add.at(q, f.bus[f.is_q], f.sign[f.is_q] * x[f.is_q])
    return p, q


def _specified(grid: Grid, fp: np.ndarray, fq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = -grid.pd + fp
    np.add.at(p, grid.gen_bus[~grid.gen_is_ref], grid.gen_pg[~grid.gen_is_ref])
    return p, -grid.qd + fq


def _ext(grid: Grid, lin: Linearisation, fp: np.ndarray) -> float:
    """External-grid P (pu): reference-bus injection plus what else sits at that bus."""
    other = grid.gen_pg[(~grid.gen_is_ref) & (grid.gen_bus == grid.ref_bus)].sum()
    return float(lin.p_ref + grid.pd[grid.ref_bus] - fp[grid.ref_bus] - other)


def _period_rows(
    b: _Builder,
    grid: Grid,
    pf: PeriodFlex,
    lin: Linearisation,
    x0: np.ndarray,
    dur: float,
    scale: np.ndarray,
    opts: ClearingOptions,
    ext_base: float,
) -> _Index:
    f, base = pf.flex, grid.base_mva
    x = b.var(len(f.bus), 0.0, f.ub, f.cost * base * dur)
    fp0, fq0 = _injections(grid, pf, x0)
    inj0 = np.r_[fp0[lin.p_cols], fq0[lin.q_cols]]
    pcols = b.var(grid.n_bus)
    qcols = b.var(grid.n_bus)
    p_rows, q_rows = {}, {}
    for bus in np.flatnonzero(grid.active):
        sel = np.flatnonzero((f.bus == bus) & ~f.is_q)
        p_rows[int(bus)] = b.row([*x[sel], pcols[bus]], [*f.sign[sel], -1.0], 0.0, 0.0)
        sel = np.flatnonzero((f.bus == bus) & f.is_q)
        q_rows[int(bus)] = b.row([*x[sel], qcols[bus]], [*f.sign[sel], -1.0], 0.0, 0.0)
    inj_vars = np.r_[pcols[lin.p_cols], qcols[lin.q_cols]]
    # the voltage state's change from the operating point: J d = injections - their values at x0
    n_p, n_s = len(lin.p_cols), lin.n_state
    state = b.var(n_s)
    b.block(sp.hstack([lin.jac, -sp.identity(n_s)]), np.r_[state, inj_vars], -inj0, -inj0)
    # ext = P injection at the reference bus (p_ref + dpref . d) + its load - its flex - other units
    other = grid.gen_pg[(~grid.gen_is_ref) & (grid.gen_bus == grid.ref_bus)].sum()
    ext_const = lin.p_ref + grid.pd[grid.ref_bus] - other
    nz = np.flatnonzero(lin.dpref)
    ext_cols = [*state[nz], pcols[grid.ref_bus]]
    ext_vals = [*lin.dpref[nz], -1.0]
    if opts.upstream_price_eur_per_mwh is None:
        b.row(ext_cols, ext_vals, ext_base - ext_const, ext_base - ext_const)
    else:
        for c, v in zip(ext_cols, ext_vals, strict=True):
            b.cost[int(c)] += opts.upstream_price_eur_per_mwh * base * dur * v
    # voltage magnitudes: the magnitude states are exactly the buses without a held voltage
    vm0 = np.abs(lin.v)
    qb = lin.q_cols
    v_ids = b.block(
        sp.identity(len(qb)), state[n_p:], grid.vmin[qb] - vm0[qb], grid.vmax[qb] - vm0[qb]
    )
    v_rows = {int(bus): int(r) for bus, r in zip(qb, v_ids, strict=True)}
    cap_rows: dict[tuple[int, int], tuple[list[int], float]] = {}
    limit = grid.rating * (opts.loading_max_percent / 100.0) * scale
    lines = np.flatnonzero(np.isfinite(limit))
    if len(lines):
        n_l = len(lines)
        facet = sp.csr_matrix(np.c_[np.cos(_ANGLES), np.sin(_ANGLES)])
        for side, (ds, s0, end) in enumerate(
            ((lin.dsf, lin.sf, grid.f), (lin.dst, lin.st, grid.t))
        ):
            pq = b.var(2 * n_l)  # P of each line at this end, then Q
            g = ds[lines]
            eye = sp.identity(n_l)
            flows = sp.bmat([[eye, None, -g.real], [None, eye, -g.imag]])
            rhs = np.r_[s0[lines].real, s0[lines].imag]
            b.block(flows, np.r_[pq, state], rhs, rhs)
            cap = limit[lines] * vm0[end[lines]]
            for k, l_ in enumerate(lines):
                ids = b.block(facet, pq[[k, n_l + k]], -np.inf, float(cap[k]))
                cap_rows[(int(l_), side)] = ([int(r) for r in ids], float(cap[k]))
    return _Index(x, p_rows, q_rows, v_rows, cap_rows)


def _offer_rows(
    b: _Builder,
    flexes: Sequence[PeriodFlex],
    idx: Sequence[_Index],
    offers: Sequence[ClearingOffer],
    indices: Sequence[int],
    durations: Sequence[float],
    base: float,
) -> list[int]:
    """Blocks, minimum activation, energy limits and ramps. Returns the binary columns."""
    binaries: list[int] = []
    per_offer: dict[int, list[tuple[int, int]]] = {}
    for t, pf in enumerate(flexes):
        for kk in np.flatnonzero(pf.owner_kind == 0):
            per_offer.setdefault(int(pf.owner[kk]), []).append((t, int(kk)))
    for o, items in per_offer.items():
        offer = offers[o]
        if offer.block:
            z = int(b.var(1, 0.0, 1.0, integer=True)[0])
            binaries.append(z)
            for t, k in items:
                b.row([idx[t].x[k], z], [1.0, -flexes[t].flex.ub[k]], 0.0, 0.0)
        elif offer.min_activation_mw > 0:
            for t, k in items:
                if flexes[t].component[k] > 1:
                    continue  # the minimum applies to active power
                y = int(b.var(1, 0.0, 1.0, integer=True)[0])
                binaries.append(y)
                b.row([idx[t].x[k], y], [1.0, -flexes[t].flex.ub[k]], -np.inf, 0.0)
                b.row([idx[t].x[k], y], [1.0, -offer.min_activation_mw / base], 0.0, np.inf)
        p_items = [(t, k) for t, k in items if flexes[t].component[k] <= 1]
        if offer.energy_limit_mwh is not None and p_items:
            b.row(
                [idx[t].x[k] for t, k in p_items],
                [base * durations[t] for t, _ in p_items],
                -np.inf,
                offer.energy_limit_mwh,
            )
        if offer.ramp_mw_per_period is not None:
            by_t: dict[int, list[int]] = {}
            for t, k in p_items:
                by_t.setdefault(t, []).append(k)
            for t in sorted(by_t):
                prev = [u for u in by_t if indices[u] == indices[t] - 1]
                if not prev:
                    continue
                u = prev[0]
                cols = [idx[t].x[k] for k in by_t[t]] + [idx[u].x[k] for k in by_t[u]]
                sign_t = [base * (1.0 if flexes[t].component[k] == 0 else -1.0) for k in by_t[t]]
                sign_u = [-base * (1.0 if flexes[u].component[k] == 0 else -1.0) for k in by_t[u]]
                r = offer.ramp_mw_per_period
                b.row(cols, sign_t + sign_u, -r, r)
    return binaries


def _ac_check(grid: Grid, pf: PeriodFlex, x: np.ndarray, v0: np.ndarray) -> tuple[np.ndarray, bool]:
    fp, fq = _injections(grid, pf, x)
    p, q = _specified(grid, fp, fq)
    return power_flow(grid, p, q, v0)


def _violations(grid: Grid, v: np.ndarray, opts: ClearingOptions) -> tuple[float, np.ndarray]:
    """(max violation: loading fraction or voltage pu, loading / limit per branch)."""
    vm = np.abs(v)
    sf, st = branch_flows(grid, v)
    limit = grid.rating * opts.loading_max_percent / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(np.abs(sf) / vm[grid.f], np.abs(st) / vm[grid.t]) / limit
    ratio = np.where(np.isfinite(limit), ratio, 0.0)
    act = grid.active
    volt = np.maximum(grid.vmin[act] - vm[act], vm[act] - grid.vmax[act])
    return float(max(0.0, ratio.max(initial=0.0) - 1.0, volt.max(initial=0.0))), ratio


def solve_milp(
    grids: Sequence[Grid],
    flexes: Sequence[PeriodFlex],
    offers: Sequence[ClearingOffer],
    indices: Sequence[int],
    durations: Sequence[float],
    opts: ClearingOptions,
    *,
    ac_check: bool = True,
) -> MilpOutput:
    """Joint MILP over the periods with AC check and correction (see the module docstring)."""
    findings: list[Finding] = []
    volts = []
    for g in grids:
        # the base point re-solved by the Newton method of the AC checks (1e-10 pu): the external
        # grid's base exchange then differs from its later values by the dispatch only, not by the
        # tolerances of two power flows (a 1e-9 pu gap made x = 0 infeasible in HiGHS' eyes)
        start = g.vm * np.exp(1j * g.va) if g.converged else np.ones(g.n_bus, complex)
        p, q = _specified(g, np.zeros(g.n_bus), np.zeros(g.n_bus))
        v0, _ = power_flow(g, p, q, start)
        volts.append(v0)
    ext_base = [
        _ext(g, linearise(g, v), np.zeros(g.n_bus)) for g, v in zip(grids, volts, strict=True)
    ]
    xs = [np.zeros(len(pf.flex.bus)) for pf in flexes]
    scales = [np.ones(g.n_branch) for g in grids]
    base = grids[0].base_mva
    prev_obj: float | None = None
    obj = 0.0
    residual = np.inf
    lins: list[Linearisation] = []
    for _ in range(opts.max_ac_iterations if ac_check else 1):
        lins = [linearise(g, v) for g, v in zip(grids, volts, strict=True)]
        b = _Builder()
        idx = [
            _period_rows(b, g, pf, lin, x0, d, s, opts, e)
            for g, pf, lin, x0, d, s, e in zip(
                grids, flexes, lins, xs, durations, scales, ext_base, strict=True
            )
        ]
        binaries = _offer_rows(b, flexes, idx, offers, indices, durations, base)
        status, col, _, obj = b.solve(opts.time_limit_s)
        if status != "optimal":
            return MilpOutput(
                [_failed(g, pf, status) for g, pf in zip(grids, flexes, strict=True)],
                None,
                findings,
            )
        xs = [np.clip(col[i.x], 0.0, None) for i in idx]
        if not ac_check:
            break
        residual = 0.0
        for t, (g, pf) in enumerate(zip(grids, flexes, strict=True)):
            v, ok = _ac_check(g, pf, xs[t], volts[t])
            if not ok:
                findings.append(
                    Finding(
                        code="ac_check_diverged",
                        severity="error",
                        element=f"period:{indices[t]}",
                        message="AC power flow of the MILP dispatch did not converge",
                    )
                )
                return MilpOutput(
                    [_failed(g, pf, "error") for g, pf in zip(grids, flexes, strict=True)],
                    None,
                    findings,
                )
            volts[t] = v
            viol, ratio = _violations(g, v, opts)
            residual = max(residual, viol)
            over = ratio > 1.0 + 0.1 * opts.tolerance
            scales[t][over] /= ratio[over]  # tighten the linear rating by the AC overshoot
        converged = prev_obj is not None and abs(obj - prev_obj) <= opts.tolerance * (
            1.0 + abs(obj)
        )
        if residual <= opts.tolerance and (converged or not binaries):
            break
        prev_obj = obj
    # prices: the LP at the final point with the integers fixed
    fixed = {int(c): float(round(col[c])) for c in binaries}
    _, col, dual, _ = b.solve(opts.time_limit_s, fix=fixed)
    lin_err = abs(obj - prev_obj) if prev_obj is not None else 0.0
    sols = []
    for t, (g, pf, i) in enumerate(zip(grids, flexes, idx, strict=True)):
        lin = linearise(g, volts[t]) if ac_check else lins[t]
        fp, _ = _injections(g, pf, xs[t])
        ext = _ext(g, lin, fp)
        lam_p, lam_q = np.full(g.n_bus, np.nan), np.full(g.n_bus, np.nan)
        for bus, r in i.p_rows.items():
            lam_p[bus] = dual[r] / (base * durations[t])
        for bus, r in i.q_rows.items():
            lam_q[bus] = dual[r] / (base * durations[t])
        lin_err += _dual_weighted_residual(g, lin, i, dual, opts) if ac_check else 0.0
        lin_err += (
            abs(ext - ext_base[t])
            * base
            * durations[t]
            * float(np.nanmax(np.abs(lam_p), initial=0.0))
            if opts.upstream_price_eur_per_mwh is None
            else 0.0
        )
        pg = g.gen_pg.copy()
        pg[g.gen_is_ref] = ext
        cost = float(pf.flex.cost @ xs[t]) * base
        if opts.upstream_price_eur_per_mwh is not None:
            cost += opts.upstream_price_eur_per_mwh * ext * base
        sols.append(
            OpfSolution(
                status="optimal",
                condition="optimal"
                if residual <= opts.tolerance or not ac_check
                else "ac_residual_above_tolerance",
                message="",
                objective=cost,
                solve_time_s=0.0,
                vm=np.abs(lin.v),
                va=np.angle(lin.v),
                sf=lin.sf,
                st=lin.st,
                pg=pg,
                qg=np.zeros_like(pg),
                x=xs[t],
                lam_p=lam_p,
                lam_q=lam_q,
                mu_branch=np.zeros(g.n_branch),
            )
        )
    if ac_check and residual > opts.tolerance:
        findings.append(
            Finding(
                code="ac_residual",
                severity="warning",
                element="milp",
                message=f"AC violation {residual:.4g} above tolerance after {opts.max_ac_iterations} iterations",
            )
        )
    model = MilpModel(b, [i.x for i in idx], obj, opts.time_limit_s)
    return MilpOutput(sols, lin_err, findings, model)


def _dual_weighted_residual(
    grid: Grid, lin: Linearisation, i: _Index, dual: np.ndarray, opts: ClearingOptions
) -> float:
    """First-order cost (EUR) of removing the AC violations left: |shadow price| x violation."""
    vm = np.abs(lin.v)
    total = 0.0
    for bus, r in i.v_rows.items():
        excess = max(grid.vmin[bus] - vm[bus], vm[bus] - grid.vmax[bus], 0.0)
        total += abs(dual[r]) * excess
    limit = grid.rating * opts.loading_max_percent / 100.0
    for (l_, side), (rows, _) in i.cap_rows.items():
        s, end = (lin.sf[l_], grid.f[l_]) if side == 0 else (lin.st[l_], grid.t[l_])
        excess = max(abs(s) - limit[l_] * vm[end], 0.0)
        total += max(abs(dual[r]) for r in rows) * excess
    return float(total)


def _failed(grid: Grid, pf: PeriodFlex, status: str) -> OpfSolution:
    nan = np.full(grid.n_bus, np.nan)
    return OpfSolution(
        status=status,
        condition=status,
        message=f"MILP ended {status}",
        objective=float("nan"),
        solve_time_s=0.0,
        vm=grid.vm,
        va=grid.va,
        sf=np.zeros(grid.n_branch, complex),
        st=np.zeros(grid.n_branch, complex),
        pg=grid.gen_pg,
        qg=grid.gen_pg * 0,
        x=np.zeros(len(pf.flex.bus)),
        lam_p=nan,
        lam_q=nan,
        mu_branch=np.zeros(grid.n_branch),
    )
