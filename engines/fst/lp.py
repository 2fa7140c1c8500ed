"""A small vectorised builder for LP/MILP models solved with HiGHS through highspy directly.

Building a year of hourly periods through an algebraic modelling layer costs seconds of Python
per constraint family; here each family is a handful of numpy arrays (one entry per row), and
the matrix goes to HiGHS in one `passModel` call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from engines.highs_model import column_lp, quiet_highs

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
INF = highspy.kHighsInf


@dataclass
class Solved:
    status: str  # "optimal" | "infeasible" | "time_limit" | "error"
    condition: str
    objective: float
    x: Floats
    row_dual: Floats
    solve_time_s: float


@dataclass
class LpBuilder:
    lb: list[Floats] = field(default_factory=list)
    ub: list[Floats] = field(default_factory=list)
    cost: list[Floats] = field(default_factory=list)
    integer: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    rows_lo: list[Floats] = field(default_factory=list)
    rows_hi: list[Floats] = field(default_factory=list)
    entries: list[tuple[Ints, Ints, Floats]] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def variables(
        self,
        n: int,
        lb: float | Floats = 0.0,
        ub: float | Floats = INF,
        cost: float | Floats = 0.0,
        integer: bool = False,
    ) -> Ints:
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64)
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy())
        self.integer.append(np.full(n, integer))
        self.n_cols += n
        return idx

    def rows(
        self,
        terms: Sequence[tuple[Ints, float | Floats]],
        lo: float | Floats = -INF,
        hi: float | Floats = INF,
    ) -> Ints:
        """``m`` rows ``lo <= sum_k coef_k[i] * x[cols_k[i]] <= hi`` (each term gives one column and
        one coefficient per row; a column index of -1 drops the term from that row)."""
        m = len(terms[0][0])
        rows = np.arange(self.n_rows, self.n_rows + m, dtype=np.int64)
        for cols, coef in terms:
            c = np.broadcast_to(np.asarray(coef, dtype=np.float64), (m,))
            keep = cols >= 0
            self.entries.append((rows[keep], cols[keep], c[keep].copy()))
        self.rows_lo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (m,)).copy())
        self.rows_hi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (m,)).copy())
        self.n_rows += m
        return rows

    def sum_row(self, cols: Ints, coef: float | Floats, lo: float, hi: float) -> int:
        """One row ``lo <= sum_i coef_i * x[cols_i] <= hi``."""
        row = self.n_rows
        c = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape).copy()
        self.entries.append((np.full(len(cols), row, dtype=np.int64), cols, c))
        self.rows_lo.append(np.array([lo], dtype=np.float64))
        self.rows_hi.append(np.array([hi], dtype=np.float64))
        self.n_rows += 1
        return row

    def fix(self, cols: Ints, values: Floats) -> None:
        lb, ub = np.concatenate(self.lb), np.concatenate(self.ub)
        lb[cols] = ub[cols] = values
        self.lb, self.ub = [lb], [ub]

    def solve(
        self,
        time_limit_s: float = 300.0,
        mip_rel_gap: float = 1e-6,
        relax: bool = False,
        integer_only: Ints | None = None,
    ) -> Solved:
        """``relax``: every variable continuous; ``integer_only``: only these integer columns
        keep their integrality (the others are relaxed)."""
        started = time.perf_counter()
        r = np.concatenate([e[0] for e in self.entries])
        c = np.concatenate([e[1] for e in self.entries])
        v = np.concatenate([e[2] for e in self.entries])
        matrix = sp.csc_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        integer = np.concatenate(self.integer)
        if integer_only is not None:
            subset = np.zeros_like(integer)
            subset[integer_only] = True
            integer = integer & subset
        lp = column_lp(
            np.concatenate(self.cost),
            np.concatenate(self.lb),
            np.concatenate(self.ub),
            matrix,
            np.concatenate(self.rows_lo) if self.rows_lo else np.zeros(0),
            np.concatenate(self.rows_hi) if self.rows_hi else np.zeros(0),
            None if relax else integer,
        )
        h = quiet_highs(time_limit_s)
        h.setOptionValue("mip_rel_gap", mip_rel_gap)
        h.setOptionValue("threads", 1)
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
        text = h.modelStatusToString(status)
        sol = h.getSolution()
        has_x = bool(sol.value_valid)
        mapped = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kInfeasible: "infeasible",
            highspy.HighsModelStatus.kTimeLimit: "time_limit",
        }.get(status, "error")
        return Solved(
            status=mapped if (mapped != "time_limit" or has_x) else "time_limit",
            condition=text,
            objective=float(h.getInfo().objective_function_value) if has_x else float("nan"),
            x=np.asarray(sol.col_value, dtype=np.float64) if has_x else np.zeros(self.n_cols),
            row_dual=np.asarray(sol.row_dual, dtype=np.float64)
            if sol.dual_valid
            else np.zeros(self.n_rows),
            solve_time_s=time.perf_counter() - started,
        )
