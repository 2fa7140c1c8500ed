"""Multi-period DC-OPF over a :class:`DcGrid` with HiGHS (LP, QP, or MILP for all-or-nothing blocks).

Columns are market quantities ``q_k`` in MW, each a signed injection at one bus in one period (sellers
``+q``, buyers ``-q``), plus the voltage angles per period. Rows per period: one nodal balance per bus,

    sum(sign_k q_k at bus i) - base * (Bbus theta)_i = load_i + pbusinj_i      (MW)

and one flow limit per rated branch. HiGHS reports a row dual as d objective / d row bound, so the dual
of bus i's balance is the cost of one more MW withdrawn there: the locational marginal price. A MILP
(blocks) is priced by fixing its integer decisions and re-solving the LP, the convex-hull-free pricing
that uniform-price exchanges use (paradoxically accepted blocks are then visible in the awards).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse

from engines.highs_model import column_lp, quiet_highs
from engines.markets.dcgrid import DcGrid, FloatArray, IntArray

INF = highspy.kHighsInf


@dataclass(frozen=True)
class Quantities:
    """Market columns; ``block[k] >= 0`` ties column k to block group ``block[k]`` (all or nothing)."""

    bus: IntArray
    period: IntArray
    sign: FloatArray
    upper_mw: FloatArray
    cost: FloatArray
    quad: FloatArray = field(default_factory=lambda: np.zeros(0))
    lower_mw: FloatArray = field(default_factory=lambda: np.zeros(0))
    block: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.bus)
        for name in ("quad", "lower_mw"):
            if len(getattr(self, name)) == 0:
                object.__setattr__(self, name, np.zeros(n))
        if len(self.block) == 0:
            object.__setattr__(self, "block", np.full(n, -1, np.int64))


@dataclass(frozen=True)
class DcopfSolution:
    status: str
    condition: str
    objective_eur: float
    solve_time_s: float
    q_mw: FloatArray
    lmp: FloatArray  # (periods, buses), EUR/MWh
    flow_mw: FloatArray  # (periods, branches)
    binding: np.ndarray  # (periods, branches) bool


def _failed(status: str, condition: str, started: float) -> DcopfSolution:
    z = np.zeros(0)
    return DcopfSolution(
        status, condition, float("nan"), time.perf_counter() - started, z, z, z, np.zeros(0, bool)
    )


def _matrix(grid: DcGrid, q: Quantities, periods: int) -> tuple[sparse.csc_matrix, IntArray]:
    """Rows: balances (periods x buses), then flow rows of rated branches (periods x rated)."""
    n, nq = grid.n_bus, len(q.bus)
    rated = np.flatnonzero(np.isfinite(grid.rate_mw))
    inj = sparse.csc_matrix(
        (q.sign, (q.period * n + q.bus, np.arange(nq))), shape=(periods * n, nq)
    )
    eye = sparse.identity(periods, format="csc")
    theta_bal = sparse.kron(eye, -grid.base_mva * grid.bbus, format="csc")
    theta_flow = sparse.kron(eye, grid.base_mva * grid.bf[rated], format="csc")
    zero = sparse.csc_matrix((periods * len(rated), nq))
    a = sparse.bmat([[inj, theta_bal], [zero, theta_flow]], format="csc")
    return a, rated


def _highs(a: sparse.csc_matrix, cost: FloatArray, lo: FloatArray, up: FloatArray,
           rlo: FloatArray, rup: FloatArray, integer: np.ndarray) -> highspy.Highs:  # fmt: skip
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.passModel(column_lp(cost, lo, up, a, rlo, rup, integer))
    return h


def solve_dcopf(
    grid: DcGrid, q: Quantities, periods: int, load_mw: FloatArray, time_limit_s: float = 60.0
) -> DcopfSolution:
    """``load_mw``: fixed withdrawals (periods, buses). Outcomes are values, never exceptions."""
    started = time.perf_counter()
    n, nq = grid.n_bus, len(q.bus)
    a, rated = _matrix(grid, q, periods)
    blocks = np.unique(q.block[q.block >= 0])
    nb = len(blocks)
    if nb:  # q_k - upper_k * z_g == 0 for every column of block g
        cols = np.flatnonzero(q.block >= 0)
        zcol = np.searchsorted(blocks, q.block[cols])
        link = sparse.hstack(
            [
                sparse.csc_matrix(
                    (np.ones(len(cols)), (np.arange(len(cols)), cols)), (len(cols), a.shape[1])
                ),
                sparse.csc_matrix(
                    (-q.upper_mw[cols], (np.arange(len(cols)), zcol)), (len(cols), nb)
                ),
            ],
            format="csc",
        )
        a = sparse.vstack(
            [sparse.hstack([a, sparse.csc_matrix((a.shape[0], nb))]), link], format="csc"
        )
    theta_lo = np.full(periods * n, -INF)
    theta_up = np.full(periods * n, INF)
    theta_lo[grid.ref :: n] = theta_up[grid.ref :: n] = 0.0
    lo = np.concatenate([q.lower_mw, theta_lo, np.zeros(nb)])
    up = np.concatenate([q.upper_mw, theta_up, np.ones(nb)])
    cost = np.concatenate([q.cost, np.zeros(periods * n + nb)])
    bal = (np.asarray(load_mw, float).reshape(periods, n) + grid.pbusinj_mw).ravel()
    lim = np.tile(grid.rate_mw[rated], periods)
    shift = np.tile(grid.pfinj_mw[rated], periods)
    nlink = a.shape[0] - len(bal) - len(lim)
    rlo = np.concatenate([bal, -lim - shift, np.zeros(nlink)])
    rup = np.concatenate([bal, lim - shift, np.zeros(nlink)])
    integer = np.concatenate([np.zeros(nq + periods * n, bool), np.ones(nb, bool)])
    h = _highs(a, cost, lo, up, rlo, rup, integer)
    h.setOptionValue("time_limit", float(time_limit_s))
    if (q.quad > 0).any():
        diag = np.flatnonzero(q.quad > 0)
        # HiGHS minimises c'x + 1/2 x'Qx: Q_kk = 2 c2 (lower triangle, column-wise).
        start = np.searchsorted(diag, np.arange(a.shape[1] + 1)).astype(np.int32)
        h.passHessian(a.shape[1], len(diag), 1, start, diag.astype(np.int32), 2.0 * q.quad[diag])
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        name = h.modelStatusToString(status)
        kind = "infeasible" if status == highspy.HighsModelStatus.kInfeasible else (
            "time_limit" if status == highspy.HighsModelStatus.kTimeLimit else "error")  # fmt: skip
        return _failed(kind, name, started)
    x = np.asarray(h.getSolution().col_value)
    objective = float(h.getInfo().objective_function_value)
    if nb:  # price the MILP: fix the blocks' decisions, re-solve the LP
        z = np.round(x[-nb:])
        lo[-nb:] = up[-nb:] = z
        h = _highs(a, cost, lo, up, rlo, rup, np.zeros(len(cost), bool))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return _failed(
                "error", "pricing LP failed: " + h.modelStatusToString(h.getModelStatus()), started
            )
        x = np.asarray(h.getSolution().col_value)
    row_dual = np.asarray(h.getSolution().row_dual)
    theta = x[nq : nq + periods * n].reshape(periods, n)
    flow = grid.base_mva * (grid.bf @ theta.T).T + grid.pfinj_mw
    duals = row_dual[periods * n : periods * n + len(lim)].reshape(periods, len(rated))
    binding = np.zeros(flow.shape, bool)
    binding[:, rated] = np.abs(duals) > 1e-7
    return DcopfSolution(
        status="optimal",
        condition=h.modelStatusToString(h.getModelStatus()),
        objective_eur=objective,
        solve_time_s=time.perf_counter() - started,
        q_mw=x[:nq],
        lmp=row_dual[: periods * n].reshape(periods, n),
        flow_mw=flow,
        binding=binding,
    )
