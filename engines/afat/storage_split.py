"""The centralised LP solved exactly with the batteries priced by column generation.

Measured on the 10,000-household bench: without its batteries the portfolio LP (curtailable
loads, PV spill, EVs, shiftable appliances; presolved by `engines.afat.reduction`) solves in
about a second and re-solves in a fraction of one, but the batteries' state-of-charge chains
make one LP of everything slow (27 s at 3,000 households, superlinear). So the master problem
keeps every non-storage device explicitly and sees each battery only as a convex combination
of schedules it has proposed (Dantzig-Wolfe with one convexity row per battery, not per
chunk: the master combines batteries individually, which needs far fewer pricing rounds than
chunk-level proposals). The master's duals on the requested slots price the batteries; each
battery block answers with its cheapest schedule at those prices (batteries are solved in
chunks of independent blocks, warm-started). When no battery has a schedule of negative
reduced cost, the master's optimum is the LP's optimum; the battery schedules are the convex
combinations of stored proposals, so the primal solution is exact too.

The baseline needs no rounds: with the aggregate free and costless the duals are zero and
each battery's proposal at zero price is its baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from engines.afat.highs import HighsSession, SolveStatus
from engines.afat.lp import (
    SETPOINTS,
    FloatArray,
    IntArray,
    PortfolioLp,
    Readout,
    build,
)
from engines.afat.portfolio import Prosumer
from engines.afat.reduction import Reduced, reduce
from engines.afat.split_portfolio import SplitPortfolio, StorageSolution
from engines.highs_model import column_lp, quiet_highs

_MAX_ROUNDS = 500
_REDUCED_COST_TOL = 1e-9  # EUR, relative to a proposal's cost (at least 1 EUR)


@dataclass
class _Batteries:
    """A chunk of battery-only prosumers (users are `owners` in the portfolio)."""

    lp: PortfolioLp
    session: HighsSession
    owners: IntArray
    first: int  # index of its first battery among all batteries

    def price(self, y: FloatArray, requested: IntArray) -> tuple[SolveStatus, str, _Proposals]:
        """Each battery's cheapest schedule when a kW of prosumption in the requested slots
        costs `y` (per battery: device cost, share in the requested slots, columns)."""
        free = np.full(len(y), np.inf)
        self.session.change_cols(self.lp.p_cols, y, -free, free)
        sol = self.session.solve()
        if sol.status != "optimal":
            return sol.status, sol.condition, _Proposals.empty(len(y))
        users = self.lp.users
        cost: FloatArray = np.bincount(
            self.lp.owner[self.lp.owner >= 0],
            weights=(self.lp.cost * sol.x)[self.lp.owner >= 0],
            minlength=users,
        ).astype(np.float64)
        share = self.lp.prosumption_kw(sol.x)[:, requested]
        return "optimal", sol.condition, _Proposals(cost, share, sol.x)


@dataclass(frozen=True)
class _Proposals:
    cost: FloatArray  # per battery of the chunk, EUR
    share: FloatArray  # batteries x requested slots, kW
    x: FloatArray  # the chunk's columns

    @classmethod
    def empty(cls, n: int) -> _Proposals:
        return cls(np.zeros(0), np.zeros((0, n)), np.zeros(0))


class StorageSplit:
    """Built once; `solve` may be called repeatedly (response, offer levels): proposals are
    kept, so later solves start from a rich master and the master's last basis."""

    def __init__(
        self,
        prosumers: list[Prosumer],
        split: SplitPortfolio,
        chunk_batteries: int,
        time_limit_s: float,
    ) -> None:
        self.split = split
        self.time_limit_s = time_limit_s
        owners = split.owners
        zero = [0.0] * split.slots
        self.chunks: list[_Batteries] = []
        for start in range(0, len(owners), chunk_batteries):
            mine = owners[start : start + chunk_batteries]
            lp = build(
                [
                    Prosumer(id=prosumers[i].id, inflexible_kw=zero, battery=prosumers[i].battery)
                    for i in mine
                ],
                split.slots,
                split.dt,
                split.price_kwh * 1000,
                split.requested,
            )
            self.chunks.append(_Batteries(lp, HighsSession(lp, time_limit_s), mine, start))
        self.batteries = len(owners)
        # Proposals of all batteries: owner battery, cost, share; the columns per chunk.
        self._battery: list[IntArray] = []
        self._cost: list[FloatArray] = []
        self._share: list[FloatArray] = []
        self._columns: list[FloatArray] = []  # proposals x the battery's own columns
        self._weights = np.zeros(0)
        self._plain_x = np.zeros(0)
        self.reduced: Reduced | None = None
        self._master: highspy.Highs | None = None
        # Optimal bases of earlier solves and the request price each was for.
        self._bases: list[tuple[FloatArray, highspy.HighsBasis]] = []

    # -- baseline --------------------------------------------------------------------------

    def baseline(self) -> tuple[SolveStatus, str, Readout, float]:
        """The schedule at zero coupling price; also seeds the master with every battery's
        baseline proposal. Returns the readout and the portfolio's device cost."""
        status, condition, reduced = reduce(self.split.plain, self.time_limit_s)
        if status != "optimal":
            return status, condition, self._empty_readout(), 0.0
        self.reduced = reduced
        zero = np.zeros(self.split.n)
        for c, chunk in enumerate(self.chunks):
            status, condition, found = chunk.price(zero, self.split.requested)
            if status != "optimal":
                return status, condition, self._empty_readout(), 0.0
            self._keep(c, np.arange(chunk.lp.users), found)
        self._build_master()
        free = np.full(self.split.n, np.inf)
        sol = self.solve(zero, -free, free, price_batteries=False)
        if sol.status != "optimal":
            return sol.status, sol.condition, self._empty_readout(), 0.0
        return "optimal", sol.condition, self.readout(), sol.device_cost_eur

    # -- request ---------------------------------------------------------------------------

    def solve(
        self,
        p_cost: FloatArray,
        p_lower: FloatArray,
        p_upper: FloatArray,
        *,
        price_batteries: bool = True,
    ) -> StorageSolution:
        """Column generation to optimality. `price_batteries=False` only for the baseline,
        whose duals are zero (the seeded proposals are then already optimal)."""
        reduced, h = self._ready()
        lp = reduced.lp
        p_cols = lp.p_cols.astype(np.int32)
        h.changeColsCost(self.split.n, p_cols, np.asarray(p_cost, dtype=np.float64))
        h.changeColsBounds(
            self.split.n,
            p_cols,
            np.asarray(p_lower, dtype=np.float64),
            np.asarray(p_upper, dtype=np.float64),
        )
        self._restart_from_nearest(np.asarray(p_cost, dtype=np.float64))
        rounds = 0
        while True:
            rounds += 1
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                zero = np.zeros(self.split.n)
                condition = h.modelStatusToString(h.getModelStatus())
                status: SolveStatus = (
                    "time_limit"
                    if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
                    else "error"
                )
                return StorageSolution(status, condition, 0.0, zero, zero, rounds)
            sol = h.getSolution()
            dual = np.asarray(sol.row_dual, dtype=np.float64)
            y = dual[lp.balance_rows]
            sigma = dual[len(lp.row_lower) :]
            added = 0
            if price_batteries and rounds <= _MAX_ROUNDS:
                for c, chunk in enumerate(self.chunks):
                    status, condition, found = chunk.price(y, self.split.requested)
                    if status != "optimal":
                        zero = np.zeros(self.split.n)
                        return StorageSolution(status, condition, 0.0, zero, y, rounds)
                    rc = (
                        found.cost
                        + found.share @ y
                        - sigma[chunk.first : chunk.first + len(found.cost)]
                    )
                    better = np.flatnonzero(
                        rc < -_REDUCED_COST_TOL * np.maximum(1.0, np.abs(found.cost))
                    )
                    if len(better):
                        self._keep(c, better, found)
                        self._add_columns(
                            better + chunk.first, found.cost[better], found.share[better]
                        )
                        added += len(better)
            if not added:
                x = np.asarray(sol.col_value, dtype=np.float64)
                ncols = len(lp.cost)
                self._plain_x = x[:ncols]
                self._weights = x[ncols:]
                p_kw = x[lp.p_cols]
                objective = float(h.getInfo().objective_function_value)
                device = objective - float(np.asarray(p_cost) @ p_kw) + reduced.fixed_cost_eur
                self._bases.append((np.asarray(p_cost, dtype=np.float64).copy(), h.getBasis()))
                condition = "optimal" if rounds <= _MAX_ROUNDS else "round_limit"
                return StorageSolution("optimal", condition, device, p_kw, y, rounds)

    def readout(self) -> Readout:
        """Per-prosumer series of the last `solve`: the plain devices' columns, plus each
        battery's convex combination of its proposals."""
        reduced, _ = self._ready()
        out = Readout.of(self.split.plain, reduced.expand(self._plain_x))
        if not self.chunks:
            return out
        columns = np.vstack(self._columns)
        combined = np.zeros((self.batteries, columns.shape[1]))
        used = self._weights > 0
        np.add.at(
            combined,
            np.concatenate(self._battery)[used],
            self._weights[used, None] * columns[used],
        )
        for chunk in self.chunks:
            x = np.zeros(len(chunk.lp.cost))
            width = columns.shape[1]
            x[: chunk.lp.users * width] = combined[
                chunk.first : chunk.first + chunk.lp.users
            ].ravel()
            part = Readout.of(chunk.lp, x)
            out.prosumption_kw[chunk.owners] += part.prosumption_kw
            out.discomfort_eur[chunk.owners] += part.discomfort_eur
            for name in SETPOINTS:
                out.series[name][chunk.owners] += part.series[name]
            out.soc_kwh[chunk.owners] += part.soc_kwh
        return out

    # -- internals -------------------------------------------------------------------------

    def _restart_from_nearest(self, p_cost: FloatArray) -> None:
        """Start from the optimal basis of the earlier solve whose request price was nearest
        (offer levels at a low price are closer to the baseline than to the response). Columns
        added since that basis enter nonbasic at zero. Only the start changes, not the
        optimum."""
        _, master = self._ready()
        if len(self._bases) < 2:
            return
        distance = [float(np.abs(cost - p_cost).sum()) for cost, _ in self._bases]
        nearest = int(np.argmin(distance))
        if nearest == len(self._bases) - 1:
            return  # the master already holds it
        basis = self._bases[nearest][1]
        cols = list(basis.col_status)
        added = master.getNumCol() - len(cols)
        start = highspy.HighsBasis()
        start.col_status = cols + [highspy.HighsBasisStatus.kLower] * added
        start.row_status = list(basis.row_status)
        master.setBasis(start)

    def _keep(self, chunk: int, local: IntArray, found: _Proposals) -> None:
        """Remember proposals (for primal recovery) in master column order."""
        first = self.chunks[chunk].first
        self._battery.append(local.astype(np.int64) + first)
        self._cost.append(found.cost[local])
        self._share.append(found.share[local])
        # Each battery's columns are contiguous and of equal width (`build` adds a prosumer's
        # columns together, the aggregate columns last).
        lp = self.chunks[chunk].lp
        width = len(lp.cost) - len(lp.p_cols)
        per_battery = found.x[:width].reshape(lp.users, width // lp.users)
        self._columns.append(per_battery[local])

    def _ready(self) -> tuple[Reduced, highspy.Highs]:
        if self.reduced is None or self._master is None:
            raise RuntimeError("solve the baseline first: it presolves and seeds the master")
        return self.reduced, self._master

    def _build_master(self) -> None:
        if self.reduced is None:
            raise RuntimeError("presolve before building the master")
        lp = self.reduced.lp
        h = quiet_highs(self.time_limit_s)
        h.setOptionValue("simplex_strategy", 1)
        h.passModel(column_lp(lp.cost, lp.lower, lp.upper, lp.matrix, lp.row_lower, lp.row_upper))
        one = np.ones(self.batteries)
        empty_i = np.zeros(self.batteries, dtype=np.int32)
        h.addRows(self.batteries, one, one, 0, empty_i, np.zeros(0, dtype=np.int32), np.zeros(0))
        self._master = h
        self._add_columns(
            np.concatenate(self._battery), np.concatenate(self._cost), np.vstack(self._share)
        )

    def _add_columns(self, battery: IntArray, cost: FloatArray, share: FloatArray) -> None:
        """A proposal's column: its cost, -share in the balance rows (which read
        `P - sum of contributions = fixed`), 1 in its battery's convexity row."""
        reduced, master = self._ready()
        lp = reduced.lp
        k, n = share.shape
        index = np.empty((k, n + 1), dtype=np.int32)
        index[:, :n] = lp.balance_rows
        index[:, n] = len(lp.row_lower) + battery
        value = np.empty((k, n + 1))
        value[:, :n] = -share
        value[:, n] = 1.0
        starts = (np.arange(k) * (n + 1)).astype(np.int32)
        master.addCols(
            k,
            np.asarray(cost, dtype=np.float64),
            np.zeros(k),
            np.full(k, np.inf),
            k * (n + 1),
            starts,
            index.ravel(),
            value.ravel(),
        )

    def _empty_readout(self) -> Readout:
        return Readout.of(self.split.plain, np.zeros(len(self.split.plain.cost)))
