"""Exact presolve of a portfolio LP before a request is priced: drop what the request cannot
change.

Two kinds of columns never see the coupling (the balance rows of the requested slots):
- empty columns (a curtailment segment or PV spill outside the requested slots: no row at
  all), whose optimum is a bound chosen by the sign of their cost alone;
- connected blocks of devices with no column in a balance row (an appliance whose window
  misses the request), whose optimum is found once.
Both are fixed at those values; the rest is a much smaller LP with the same optimum in the
kept columns for every price and bound the request puts on the aggregate. At 10,000
households this keeps about a quarter of the non-storage columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from engines.afat.highs import HighsSession, SolveStatus
from engines.afat.lp import FloatArray, IntArray, PortfolioLp


@dataclass(frozen=True)
class Reduced:
    """`lp` holds the kept columns and rows of `full`; `fixed_x` is the full solution's value
    of every column that was dropped (its value in kept columns is overwritten by `expand`)."""

    full: PortfolioLp
    lp: PortfolioLp
    cols: IntArray  # full column of each kept column
    fixed_x: FloatArray

    def expand(self, x: FloatArray) -> FloatArray:
        out = self.fixed_x.copy()
        out[self.cols] = x
        return out

    @property
    def fixed_cost_eur(self) -> float:
        """Device cost of the dropped columns (the same in every solution)."""
        dropped = np.ones(len(self.fixed_x), dtype=bool)
        dropped[self.cols] = False
        return float(self.full.cost[dropped] @ self.fixed_x[dropped])


def reduce(lp: PortfolioLp, time_limit_s: float) -> tuple[SolveStatus, str, Reduced]:
    a = lp.matrix.tocsc()
    rows, cols = a.shape
    coo = a.tocoo()
    coupling = np.zeros(rows, dtype=bool)
    coupling[lp.balance_rows] = True
    # Blocks: connected components of the row-column graph without the balance rows.
    inner = ~coupling[coo.row]
    graph = sp.coo_matrix(
        (np.ones(int(inner.sum())), (coo.row[inner], rows + coo.col[inner])),
        shape=(rows + cols, rows + cols),
    )
    _, label = connected_components(graph, directed=False)
    col_label, row_label = label[rows:], label[:rows]
    touches = np.zeros(int(label.max()) + 1, dtype=bool)
    touches[col_label[coo.col[~inner]]] = True
    nonempty = np.diff(a.indptr) > 0
    keep_col = touches[col_label] & nonempty
    keep_col[lp.p_cols] = True
    keep_row = touches[row_label] | coupling
    fixed = np.where(lp.cost < 0, lp.upper, lp.lower)
    # Detached blocks: their own LP, solved once (aggregate columns are never in one).
    detached_col = nonempty & ~keep_col
    status: SolveStatus = "optimal"
    condition = "optimal"
    if detached_col.any():
        part = _sub(lp, ~keep_row & ~coupling, detached_col)
        sol = HighsSession(part, time_limit_s).solve()
        status, condition = sol.status, sol.condition
        if sol.status == "optimal":
            fixed[detached_col] = sol.x
    kept = _sub(lp, keep_row, keep_col)
    cols_kept = np.flatnonzero(keep_col).astype(np.int64)
    return status, condition, Reduced(full=lp, lp=kept, cols=cols_kept, fixed_x=fixed)


def _sub(lp: PortfolioLp, row_mask: np.ndarray, col_mask: np.ndarray) -> PortfolioLp:
    """The LP restricted to some rows and columns; the aggregate and balance indices are
    renumbered when kept (readout maps stay those of the full LP: use `Reduced.expand`)."""
    col_at = np.cumsum(col_mask) - 1
    row_at = np.cumsum(row_mask) - 1
    keeps_p = bool(col_mask[lp.p_cols].all()) if len(lp.p_cols) else False
    return PortfolioLp(
        slots=lp.slots,
        users=lp.users,
        cost=lp.cost[col_mask],
        discomfort_cost=lp.discomfort_cost[col_mask],
        energy_price_eur_per_kwh=lp.energy_price_eur_per_kwh,
        lower=lp.lower[col_mask],
        upper=lp.upper[col_mask],
        matrix=sp.csc_matrix(lp.matrix.tocsr()[row_mask][:, col_mask]),
        row_lower=lp.row_lower[row_mask],
        row_upper=lp.row_upper[row_mask],
        p_cols=col_at[lp.p_cols].astype(np.int64) if keeps_p else np.zeros(0, dtype=np.int64),
        balance_rows=(
            row_at[lp.balance_rows].astype(np.int64) if keeps_p else np.zeros(0, dtype=np.int64)
        ),
        owner=lp.owner[col_mask],
        fixed_kw=lp.fixed_kw,
        contribution=lp.contribution[:, col_mask],
        setpoints={k: v[:, col_mask] for k, v in lp.setpoints.items()},
        soc=lp.soc[:, col_mask],
    )
