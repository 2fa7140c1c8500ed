"""A thin HiGHS session over a `PortfolioLp`: pass the arrays once, then change costs and
bounds of a few columns between solves so HiGHS restarts from its last basis."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np

from engines.afat.lp import FloatArray, IntArray, PortfolioLp
from engines.highs_model import column_lp, quiet_highs

SolveStatus = Literal["optimal", "infeasible", "time_limit", "error"]


@dataclass(frozen=True)
class LpSolution:
    status: SolveStatus
    condition: str
    objective: float
    x: FloatArray
    row_dual: FloatArray
    seconds: float


class HighsSession:
    def __init__(self, lp: PortfolioLp, time_limit_s: float = 600.0) -> None:
        h = quiet_highs(time_limit_s)
        h.passModel(column_lp(lp.cost, lp.lower, lp.upper, lp.matrix, lp.row_lower, lp.row_upper))
        self._h = h
        self._shape = (int(lp.matrix.shape[0]), int(lp.matrix.shape[1]))

    def change_cols(
        self, cols: IntArray, cost: FloatArray, lower: FloatArray, upper: FloatArray
    ) -> None:
        n = len(cols)
        idx = cols.astype(np.int32)
        self._h.changeColsCost(n, idx, np.asarray(cost, dtype=np.float64))
        self._h.changeColsBounds(
            n, idx, np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        )

    def set_proximal(self, cols: IntArray, rho: float) -> None:
        """Add `rho / 2 * x_j^2` for each column in `cols` (the ADMM proximal term)."""
        ncols = self._shape[1]
        diag = np.zeros(ncols)
        diag[cols] = rho
        hessian = highspy.HighsHessian()
        hessian.dim_ = ncols
        hessian.format_ = highspy.HessianFormat.kTriangular
        nz = np.flatnonzero(diag)
        counts = np.zeros(ncols + 1, dtype=np.int32)
        counts[nz + 1] = 1
        hessian.start_ = np.cumsum(counts).astype(np.int32)
        hessian.index_ = nz.astype(np.int32)
        hessian.value_ = diag[nz]
        self._h.passHessian(hessian)

    def solve(self) -> LpSolution:
        started = time.perf_counter()
        self._h.run()
        seconds = time.perf_counter() - started
        model_status = self._h.getModelStatus()
        condition = self._h.modelStatusToString(model_status)
        status: SolveStatus
        if model_status == highspy.HighsModelStatus.kModelEmpty:
            # Nothing to decide (a prosumer without flexible assets): the empty solution.
            rows, cols = self._shape
            return LpSolution("optimal", condition, 0.0, np.zeros(cols), np.zeros(rows), seconds)
        if model_status == highspy.HighsModelStatus.kOptimal:
            status = "optimal"
        elif model_status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            status = "infeasible"
        elif model_status == highspy.HighsModelStatus.kTimeLimit:
            status = "time_limit"
        else:
            status = "error"
        if status != "optimal":
            empty = np.zeros(0)
            return LpSolution(status, condition, float("nan"), empty, empty, seconds)
        sol = self._h.getSolution()
        return LpSolution(
            status=status,
            condition=condition,
            objective=float(self._h.getInfo().objective_function_value),
            x=np.asarray(sol.col_value, dtype=np.float64),
            row_dual=np.asarray(sol.row_dual, dtype=np.float64),
            seconds=seconds,
        )
