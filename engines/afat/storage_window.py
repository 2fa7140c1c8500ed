"""The centralised LP solved exactly with every battery reduced to the request's window.

A battery's state-of-charge chain over the whole horizon is what makes one LP of a large
portfolio slow (27 s at 3,000 households as one LP). Only the slots from the first to the last
requested slot see the request's price and bounds; before and after them a battery faces the
fixed energy price, and its cheapest schedule there is an exact convex piecewise-linear
function of the SoC at the window's edges (`engines.afat.soc_value`). So each battery enters one
master LP with its window slots explicit (charge, discharge, SoC) and two chains of bounded
segment columns pricing the SoC at the window's start and end. The non-storage devices are the
presolved portfolio LP (`engines.afat.reduction`) as in `storage_split`. The master is exact: any
solution of it expands, by backtracking the value functions, to a schedule of the full horizon
with the same cost, and every full schedule maps to a master solution no cheaper.

No pricing rounds: the baseline, the response and every offer level are re-solves of one LP
from the last basis (only the aggregate columns' costs and bounds change).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from engines.afat.highs import SolveStatus
from engines.afat.lp import (
    FloatArray,
    IntArray,
    PortfolioLp,
    Readout,
)
from engines.afat.reduction import Reduced, reduce
from engines.afat.soc_value import (
    Schedule,
    ValueFunction,
    after_window,
    backtrack_after,
    backtrack_before,
    before_window,
)
from engines.afat.split_portfolio import SplitPortfolio, StorageSolution
from engines.highs_model import column_lp, quiet_highs


@dataclass(frozen=True)
class _Columns:
    """Where the batteries' columns sit in the master (n x window arrays, and segments)."""

    charge: IntArray
    discharge: IntArray
    soc: IntArray
    pre: IntArray  # segment columns before the window
    pre_owner: IntArray  # battery of each
    post: IntArray
    post_owner: IntArray


class StorageWindow:
    """Built once; `solve` may be called repeatedly (baseline, response, offer levels)."""

    def __init__(self, split: SplitPortfolio, time_limit_s: float) -> None:
        self.split = split
        self.time_limit_s = time_limit_s
        first, last = int(split.requested.min()), int(split.requested.max())
        self.window = np.arange(first, last + 1)
        self.before: ValueFunction = before_window(split.bat, split.price_kwh, split.dt, first)
        self.after: ValueFunction = after_window(
            split.bat, split.price_kwh, split.dt, last, split.slots
        )
        self.reduced: Reduced | None = None
        self._h: highspy.Highs | None = None
        self._cols: _Columns | None = None
        self._plain_cols = 0
        self._x = np.zeros(0)

    # -- solving ---------------------------------------------------------------------------

    def baseline(self) -> tuple[SolveStatus, str, Readout, float]:
        """The schedule with the aggregate free and costless (no request)."""
        status, condition, reduced = reduce(self.split.plain, self.time_limit_s)
        if status != "optimal":
            return (
                status,
                condition,
                Readout.of(self.split.plain, np.zeros(len(self.split.plain.cost))),
                0.0,
            )
        self.reduced = reduced
        self._build_master(reduced.lp)
        free = np.full(self.split.n, np.inf)
        sol = self.solve(np.zeros(self.split.n), -free, free)
        if sol.status != "optimal":
            return sol.status, sol.condition, self._empty(), 0.0
        return "optimal", sol.condition, self.readout(), sol.device_cost_eur

    def solve(
        self, p_cost: FloatArray, p_lower: FloatArray, p_upper: FloatArray
    ) -> StorageSolution:
        reduced, h = self._ready()
        p_cols = reduced.lp.p_cols.astype(np.int32)
        h.changeColsCost(self.split.n, p_cols, np.asarray(p_cost, dtype=np.float64))
        h.changeColsBounds(
            self.split.n,
            p_cols,
            np.asarray(p_lower, dtype=np.float64),
            np.asarray(p_upper, dtype=np.float64),
        )
        h.run()
        model_status = h.getModelStatus()
        zero = np.zeros(self.split.n)
        if model_status != highspy.HighsModelStatus.kOptimal:
            status: SolveStatus = (
                "time_limit" if model_status == highspy.HighsModelStatus.kTimeLimit else "error"
            )
            if model_status == highspy.HighsModelStatus.kInfeasible:
                status = "infeasible"
            return StorageSolution(status, h.modelStatusToString(model_status), 0.0, zero, zero)
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=np.float64)
        self._x = x
        p_kw = x[reduced.lp.p_cols]
        objective = float(h.getInfo().objective_function_value)
        device = (
            objective
            - float(np.asarray(p_cost) @ p_kw)
            + reduced.fixed_cost_eur
            + float(self.before.function.f0.sum() + self.after.function.f0.sum())
        )
        y = np.asarray(sol.row_dual, dtype=np.float64)[reduced.lp.balance_rows]
        return StorageSolution("optimal", "optimal", device, p_kw, y)

    # -- reading a solution back -----------------------------------------------------------

    def readout(self) -> Readout:
        reduced, _ = self._ready()
        x = self._x
        out = Readout.of(self.split.plain, reduced.expand(x[: self._plain_cols]))
        if len(self.split.owners) == 0:
            return out
        schedule = self.schedule(x)
        battery_kw = schedule.charge_kw - schedule.discharge_kw
        wear = (schedule.discharge_kw * self.split.dt).sum(axis=1) * self.split.bat.wear_eur_per_kwh
        out.prosumption_kw[self.split.owners] += battery_kw
        out.series["battery_kw"][self.split.owners] += battery_kw
        out.soc_kwh[self.split.owners] += schedule.soc_kwh
        out.discomfort_eur[self.split.owners] += wear
        return out

    def schedule(self, x: FloatArray) -> Schedule:
        """Every battery's full-horizon schedule: the window from the master's columns, the
        rest by backtracking the value functions from the window's edge states."""
        cols = self._columns()
        nb = len(self.split.owners)
        s_start = self.before.function.x0 + np.bincount(
            cols.pre_owner, weights=x[cols.pre], minlength=nb
        )
        soc_window = x[cols.soc]
        head = backtrack_before(self.before, self.split.bat, self.split.dt, s_start)
        tail = backtrack_after(self.after, self.split.bat, self.split.dt, soc_window[:, -1])
        return Schedule(
            charge_kw=np.hstack([head.charge_kw, x[cols.charge], tail.charge_kw]),
            discharge_kw=np.hstack([head.discharge_kw, x[cols.discharge], tail.discharge_kw]),
            soc_kwh=np.hstack([head.soc_kwh, soc_window, tail.soc_kwh]),
        )

    # -- internals -------------------------------------------------------------------------

    def _ready(self) -> tuple[Reduced, highspy.Highs]:
        if self.reduced is None or self._h is None:
            raise RuntimeError("solve the baseline first: it presolves and builds the master")
        return self.reduced, self._h

    def _columns(self) -> _Columns:
        if self._cols is None:
            raise RuntimeError("the master is not built")
        return self._cols

    def _empty(self) -> Readout:
        return Readout.of(self.split.plain, np.zeros(len(self.split.plain.cost)))

    def _build_master(self, lp: PortfolioLp) -> None:
        """The presolved non-storage LP plus every battery's window block."""
        bat, dt = self.split.bat, self.split.dt
        nb, m = len(self.split.owners), len(self.window)
        base_cols, base_rows = len(lp.cost), len(lp.row_lower)
        self._plain_cols = base_cols
        # Battery columns: charge, discharge, SoC (nb x m each), then the segment columns.
        charge = base_cols + np.arange(nb * m).reshape(nb, m)
        discharge = charge + nb * m
        soc = discharge + nb * m
        pre_len, pre_slope, pre_owner = _flat_segments(self.before)
        post_len, post_slope, post_owner = _flat_segments(self.after)
        pre = base_cols + 3 * nb * m + np.arange(len(pre_len))
        post = base_cols + 3 * nb * m + len(pre_len) + np.arange(len(post_len))
        self._cols = _Columns(charge, discharge, soc, pre, pre_owner, post, post_owner)
        ncols = base_cols + 3 * nb * m + len(pre_len) + len(post_len)

        price = np.broadcast_to(self.split.price_kwh[self.window], (nb, m))
        wear = np.broadcast_to(bat.wear_eur_per_kwh[:, None], (nb, m))
        cost = np.concatenate(
            [
                lp.cost,
                (price * dt).ravel(),
                ((wear - price) * dt).ravel(),
                np.zeros(nb * m),
                pre_slope,
                post_slope,
            ]
        )
        soc_lower = np.broadcast_to(bat.soc_min[:, None], (nb, m)).copy()
        if self.window[-1] == self.split.slots - 1:
            soc_lower[:, -1] = np.maximum(bat.soc_min, bat.soc_final)
        lower = np.concatenate(
            [
                lp.lower,
                np.zeros(2 * nb * m),
                soc_lower.ravel(),
                np.zeros(len(pre_len) + len(post_len)),
            ]
        )
        upper = np.concatenate(
            [
                lp.upper,
                np.broadcast_to(bat.p_charge[:, None], (nb, m)).ravel(),
                np.broadcast_to(bat.p_discharge[:, None], (nb, m)).ravel(),
                np.broadcast_to(bat.soc_max[:, None], (nb, m)).ravel(),
                pre_len,
                post_len,
            ]
        )
        # Rows: the window's SoC dynamics (nb x m), then one link to the tail per battery.
        dyn = base_rows + np.arange(nb * m).reshape(nb, m)
        link = base_rows + nb * m + np.arange(nb)
        has_tail = len(self.after.slots) > 0
        nrows = base_rows + nb * m + (nb if has_tail else 0)
        rows: list[IntArray] = []
        colsl: list[IntArray] = []
        vals: list[FloatArray] = []

        def add(r: IntArray, c: IntArray, v: FloatArray | float) -> None:
            rows.append(np.asarray(r, dtype=np.int64).ravel())
            colsl.append(np.asarray(c, dtype=np.int64).ravel())
            vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(r)).ravel())

        # soc_t - soc_{t-1} - eta_c dt ch_t + dt / eta_d dis_t = 0; at the window's first slot
        # soc_{t-1} is the head's end state x0 + sum(segments).
        add(dyn, soc, 1.0)
        add(dyn[:, 1:], soc[:, :-1], -1.0)
        add(dyn, charge, -np.broadcast_to((bat.eta_charge * dt)[:, None], (nb, m)))
        add(dyn, discharge, np.broadcast_to((dt / bat.eta_discharge)[:, None], (nb, m)))
        add(dyn[pre_owner, 0], pre, -1.0)
        if has_tail:
            # soc at the window's end = the tail's start state x0 + sum(segments)
            add(link, soc[:, -1], 1.0)
            add(link[post_owner], post, -1.0)
        # Balance rows of the requested slots: P_t - (charge - discharge) - ... = fixed.
        where = np.full(self.split.slots, -1, dtype=np.int64)
        where[self.split.requested] = np.arange(self.split.n)
        in_window = where[self.window]
        j = np.flatnonzero(in_window >= 0)
        if len(j):
            bal = np.broadcast_to(lp.balance_rows[in_window[j]], (nb, len(j)))
            add(bal, charge[:, j], -1.0)
            add(bal, discharge[:, j], 1.0)
        row_rhs = np.zeros(nb * m)
        row_rhs.reshape(nb, m)[:, 0] = self.before.function.x0
        tail_rhs = self.after.function.x0 if has_tail else np.zeros(0)
        row_lower = np.concatenate([lp.row_lower, row_rhs, tail_rhs])
        row_upper = np.concatenate([lp.row_upper, row_rhs, tail_rhs])

        extra = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(colsl))),
            shape=(nrows, ncols),
        )
        base = sp.csc_matrix(
            (lp.matrix.data, lp.matrix.indices, lp.matrix.indptr), shape=(base_rows, base_cols)
        )
        base.resize((nrows, ncols))
        a = (base + extra).tocsc()
        a.sort_indices()
        h = quiet_highs(self.time_limit_s)
        h.passModel(column_lp(cost, lower, upper, a, row_lower, row_upper))
        self._h = h


def _flat_segments(v: ValueFunction) -> tuple[FloatArray, FloatArray, IntArray]:
    """Every battery's real segments, flattened: lengths, slopes and the battery of each."""
    lengths = v.function.lengths
    keep = lengths > 1e-12
    owner = np.broadcast_to(np.arange(lengths.shape[0])[:, None], lengths.shape)
    return lengths[keep], v.function.slopes[keep], owner[keep].astype(np.int64)
