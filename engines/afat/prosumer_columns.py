"""The centralised LP solved exactly by Dantzig-Wolfe decomposition with one block per prosumer's
non-storage devices and one per battery, the large-portfolio solver.

The portfolio LP is block-angular: prosumers couple only through the request's balance rows
(their prosumption in the requested slots). Measured at 10,000 households (bench/
afat_aggregation.py): the non-storage devices alone re-solve in 0.2 s when their prices change,
and the batteries' best responses to any prices take 0.2 s for all 2,000 of them with the exact
state-of-charge dynamic programme (`engines.afat.soc_value`); but one LP holding both, whether
with the batteries' SoC chains (`single_lp`, `storage_window`) or with battery proposals next
to the explicit non-storage LP (`battery_split`), needs minutes of simplex iterations. So here
the master holds no device at all: per block a convex combination of the schedules it proposed
(a convexity row each, which lets the master combine prosumers individually: about 40 rounds
for the 10,000-household response, where chunk-level blocks needed 60-100), the aggregate
prosumption `P_t` with the request's price and bounds, and the balance rows. Each round prices every block at the master's balance duals: one warm-started
LP for all non-storage devices (separable per prosumer once `P_t` is free) and one vectorised
dynamic programme for all batteries. The loop stops when no block has a proposal of negative
reduced cost, i.e. the master's optimum is the LP's optimum; the schedules are the convex
combinations of the proposals, so the primal solution is exact too.

Proposals are kept across solves (baseline, response, offer levels), so later solves start from
a rich master; nonbasic proposals at least three rounds old and far from entering are pruned
from the master (each simplex iteration prices every column). Artificial columns with a large
cost keep the master feasible while proposals are missing; an optimum that still uses them means
the bounds cannot be met (infeasible).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from engines.afat.highs import HighsSession, SolveStatus
from engines.afat.lp import FloatArray, IntArray, Readout, build_without_batteries
from engines.afat.portfolio import Prosumer
from engines.afat.reduction import Reduced, reduce
from engines.afat.soc_value import Schedule, WindowedResponse
from engines.afat.storage_window import battery_arrays

_MAX_ROUNDS = 200
_REDUCED_COST_TOL = 1e-9  # EUR, relative to a proposal's cost (at least 1 EUR)
_GAP = 1e-9  # relative gap between the master and the Lagrangian bound that ends a solve
_ARTIFICIAL_EUR_PER_KW = 1e4  # far above any flexibility price per kW and slot
_ARTIFICIAL_USED_KW = 1e-6
_PRUNE_ABOVE = 20_000  # proposals in the master before pruning starts
_PRUNE_REDUCED_COST_EUR = 1e-3
_PRUNE_AGE = 3
_PRUNE_ROUNDS = 60  # rounds of a solve in which pruning is allowed  # pricing rounds a proposal stays before it may be pruned


@dataclass(frozen=True)
class ColumnsSolution:
    status: SolveStatus
    condition: str
    device_cost_eur: float  # energy, discomfort and wear of the whole portfolio
    p_kw: FloatArray  # aggregate prosumption in the requested slots
    duals: FloatArray  # EUR per kW of prosumption per requested slot
    rounds: int


@dataclass
class _Round:
    """One pricing round's answers, kept for the primal recovery: the non-storage LP's solution
    and the batteries' schedules, and which blocks' proposals were stored from them (the
    proposal's index, -1 if the block's proposal was not added)."""

    plain_x: FloatArray
    battery: Schedule
    plain_col: IntArray
    battery_col: IntArray


@dataclass
class _Pricing:
    plain_x: FloatArray
    plain_cost: FloatArray  # per active user
    plain_share: FloatArray  # active users x requested slots
    battery: Schedule
    battery_cost: FloatArray
    battery_share: FloatArray


@dataclass
class _State:
    rounds: list[_Round] = field(default_factory=list)
    weights: FloatArray = field(default_factory=lambda: np.zeros(0))


class ProsumerColumns:
    """Built once; `solve` may be called repeatedly (baseline, response, offer levels)."""

    def __init__(
        self,
        prosumers: list[Prosumer],
        slots: int,
        slot_hours: float,
        energy_price_eur_per_mwh: FloatArray,
        requested: IntArray,
        time_limit_s: float,
    ) -> None:
        self.requested = np.asarray(requested, dtype=np.int64)
        self.n = len(self.requested)
        self.slots = slots
        self.dt = slot_hours
        self.price_kwh = np.asarray(energy_price_eur_per_mwh, dtype=np.float64) / 1000
        self.time_limit_s = time_limit_s
        self.plain = build_without_batteries(
            prosumers, slots, slot_hours, energy_price_eur_per_mwh, self.requested
        )
        self.owners, self.bat = battery_arrays(prosumers)
        # Only the request's window changes price between pricing rounds: the batteries'
        # value functions before and after it are computed once.
        self._batteries = WindowedResponse.of(
            self.bat,
            self.price_kwh,
            slot_hours,
            int(self.requested.min()),
            int(self.requested.max()),
        )
        self.reduced: Reduced | None = None
        self._session: HighsSession | None = None
        self._master: highspy.Highs | None = None
        self._state = _State()
        self._active = np.zeros(0, dtype=np.int64)  # users with kept non-storage columns
        self._share_map: sp.csr_matrix | None = None
        self._col_owner = np.zeros(0, dtype=np.int64)  # active-user index per kept column
        # Every proposal found so far (cost, share in the requested slots, convexity row) and
        # the ones in the master now, in master column order after P and the artificials.
        self._cost = np.zeros(0)
        self._share = np.zeros((0, self.n))
        self._row = np.zeros(0, dtype=np.int64)
        self._born = np.zeros(0, dtype=np.int64)  # pricing round that found each proposal
        self._pool = np.zeros(0, dtype=np.int64)

    # -- solving ---------------------------------------------------------------------------

    def baseline(self) -> tuple[SolveStatus, str, Readout, float]:
        """The schedule with the aggregate free and costless; seeds the master with every
        block's baseline proposal (at zero duals it is already optimal)."""
        status, condition, reduced = reduce(self.plain, self.time_limit_s)
        if status != "optimal":
            return status, condition, self._empty(), 0.0
        self.reduced = reduced
        self._prepare(reduced)
        priced = self._price(np.zeros(self.n))
        if priced is None:
            return "error", "the non-storage devices' LP failed", self._empty(), 0.0
        self._build_master(priced)
        free = np.full(self.n, np.inf)
        sol = self.solve(np.zeros(self.n), -free, free)
        if sol.status != "optimal":
            return sol.status, sol.condition, self._empty(), 0.0
        return "optimal", sol.condition, self.readout(), sol.device_cost_eur

    def solve(
        self, p_cost: FloatArray, p_lower: FloatArray, p_upper: FloatArray
    ) -> ColumnsSolution:
        reduced, master = self._ready()
        n = self.n
        p_cols = np.arange(n, dtype=np.int32)
        master.changeColsCost(n, p_cols, np.asarray(p_cost, dtype=np.float64))
        master.changeColsBounds(
            n, p_cols, np.asarray(p_lower, dtype=np.float64), np.asarray(p_upper, dtype=np.float64)
        )
        zero = np.zeros(n)
        rounds = 0
        best_bound = -np.inf
        while True:
            rounds += 1
            master.run()
            model_status = master.getModelStatus()
            if model_status != highspy.HighsModelStatus.kOptimal:
                condition = master.modelStatusToString(model_status)
                status: SolveStatus = (
                    "time_limit" if model_status == highspy.HighsModelStatus.kTimeLimit else "error"
                )
                return ColumnsSolution(status, condition, 0.0, zero, zero, rounds)
            sol = master.getSolution()
            x = np.asarray(sol.col_value, dtype=np.float64)
            dual = np.asarray(sol.row_dual, dtype=np.float64)
            y, sigma = dual[:n], dual[n:]
            objective = float(master.getInfo().objective_function_value)
            if rounds > _MAX_ROUNDS:
                break
            # (Wentges smoothing of the duals was tried: on the bench it stalled the bound.)
            priced = self._price(y)
            if priced is None:
                return ColumnsSolution("error", "pricing LP failed", 0.0, zero, y, rounds)
            added, bound = self._add_improving(priced, y, y, sigma, p_cost, p_lower, p_upper)
            best_bound = max(best_bound, bound)
            if added == 0 or objective - best_bound <= _GAP * max(1.0, abs(objective)):
                if added:  # the bound closed the gap; re-solve so weights match the duals
                    master.run()
                    sol = master.getSolution()
                    x = np.asarray(sol.col_value, dtype=np.float64)
                    dual = np.asarray(sol.row_dual, dtype=np.float64)
                    y = dual[:n]
                    objective = float(master.getInfo().objective_function_value)
                break
            if rounds <= _PRUNE_ROUNDS:
                # Past it, no pruning: plain column generation, which cannot cycle.
                self._prune(y, sigma)
        artificial = x[n : 3 * n]
        if float(artificial.sum()) > _ARTIFICIAL_USED_KW:
            return ColumnsSolution(
                "infeasible", "the request's bounds cannot be met", 0.0, zero, y, rounds
            )
        weights = np.zeros(len(self._cost))
        weights[self._pool] = x[3 * n :]
        self._state.weights = weights
        p_kw = x[:n]
        device = objective - float(np.asarray(p_cost) @ p_kw) + reduced.fixed_cost_eur
        condition = "optimal" if rounds <= _MAX_ROUNDS else "round_limit"
        return ColumnsSolution("optimal", condition, device, p_kw, y, rounds)

    # -- reading a solution back -----------------------------------------------------------

    def readout(self) -> Readout:
        reduced, _ = self._ready()
        w = self._state.weights
        plain_x = np.zeros(len(reduced.lp.cost))
        nb = len(self.owners)
        charge = np.zeros((nb, self.slots))
        discharge = np.zeros((nb, self.slots))
        soc = np.zeros((nb, self.slots))
        for r in self._state.rounds:
            per_user = np.where(r.plain_col >= 0, w[np.maximum(r.plain_col, 0)], 0.0)
            if len(self._col_owner):
                mine = self._col_owner >= 0
                plain_x[mine] += per_user[self._col_owner[mine]] * r.plain_x[mine]
            per_battery = np.where(r.battery_col >= 0, w[np.maximum(r.battery_col, 0)], 0.0)
            charge += per_battery[:, None] * r.battery.charge_kw
            discharge += per_battery[:, None] * r.battery.discharge_kw
            soc += per_battery[:, None] * r.battery.soc_kwh
        out = Readout.of(self.plain, reduced.expand(plain_x))
        if nb:
            battery_kw = charge - discharge
            wear = (discharge * self.dt).sum(axis=1) * self.bat.wear_eur_per_kwh
            out.prosumption_kw[self.owners] += battery_kw
            out.series["battery_kw"][self.owners] += battery_kw
            out.soc_kwh[self.owners] += soc
            out.discomfort_eur[self.owners] += wear
        return out

    # -- internals -------------------------------------------------------------------------

    def _ready(self) -> tuple[Reduced, highspy.Highs]:
        if self.reduced is None or self._master is None:
            raise RuntimeError("solve the baseline first: it presolves and seeds the master")
        return self.reduced, self._master

    def _empty(self) -> Readout:
        return Readout.of(self.plain, np.zeros(len(self.plain.cost)))

    def _prepare(self, reduced: Reduced) -> None:
        lp = reduced.lp
        owner = lp.owner
        self._active = np.unique(owner[owner >= 0])
        index = np.full(lp.users, -1, dtype=np.int64)
        index[self._active] = np.arange(len(self._active))
        self._col_owner = np.where(owner >= 0, index[np.maximum(owner, 0)], -1)
        keys = (self._active[:, None] * self.slots + self.requested[None, :]).ravel()
        self._share_map = lp.contribution[keys].tocsr()
        self._session = HighsSession(lp, self.time_limit_s)

    def _price(self, y: FloatArray) -> _Pricing | None:
        """Every block's cheapest schedule when a kW of prosumption in requested slot t costs
        `y_t` on top of the energy price."""
        reduced, session = self.reduced, self._session
        if reduced is None or session is None or self._share_map is None:
            raise RuntimeError("not prepared")
        lp = reduced.lp
        free = np.full(self.n, np.inf)
        session.change_cols(lp.p_cols, y, -free, free)
        sol = session.solve()
        if sol.status != "optimal":
            return None
        x = sol.x
        mine = self._col_owner >= 0
        plain_cost = np.bincount(
            self._col_owner[mine], weights=(lp.cost * x)[mine], minlength=len(self._active)
        ).astype(np.float64)
        plain_share = np.asarray(self._share_map @ x, dtype=np.float64).reshape(
            len(self._active), self.n
        )
        prices = self.price_kwh.copy()
        prices[self.requested] += y / self.dt
        schedule = self._batteries.respond(prices[self._batteries.first : self._batteries.last + 1])
        net = schedule.charge_kw - schedule.discharge_kw
        battery_cost = (net @ self.price_kwh) * self.dt + (
            schedule.discharge_kw.sum(axis=1) * self.dt * self.bat.wear_eur_per_kwh
        )
        return _Pricing(x, plain_cost, plain_share, schedule, battery_cost, net[:, self.requested])

    def _build_master(self, first: _Pricing) -> None:
        """Rows: balance (P_t - sum of proposals' shares = fixed_t), then one convexity row per
        active user and per battery. Columns: P_t, artificials (+ and -), proposals."""
        reduced, n = self.reduced, self.n
        if reduced is None:
            raise RuntimeError("presolve before building the master")
        lp = reduced.lp
        na, nb = len(self._active), len(self.owners)
        fixed = lp.row_lower[lp.balance_rows]
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(self.time_limit_s))
        h.setOptionValue("simplex_strategy", 4)
        rows_lower = np.concatenate([fixed, np.ones(na + nb)])
        h.addRows(
            n + na + nb,
            rows_lower,
            rows_lower,
            0,
            np.zeros(n + na + nb, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        eye = np.arange(n, dtype=np.int32)
        # P_t (free, costless until a request prices it), then artificial +/- slack per row.
        h.addCols(n, np.zeros(n), np.full(n, -np.inf), np.full(n, np.inf), n, eye, eye, np.ones(n))
        big = np.full(2 * n, _ARTIFICIAL_EUR_PER_KW)
        h.addCols(
            2 * n,
            big,
            np.zeros(2 * n),
            np.full(2 * n, np.inf),
            2 * n,
            np.arange(2 * n, dtype=np.int32),
            np.concatenate([eye, eye]),
            np.concatenate([np.ones(n), -np.ones(n)]),
        )
        self._master = h
        self._add(first, np.arange(na), np.arange(nb))

    def _add(self, priced: _Pricing, users: IntArray, batteries: IntArray) -> None:
        """Store the given blocks' proposals of this round and add them as master columns:
        cost, -share in the balance rows, 1 in the block's convexity row."""
        _, master = self._ready()
        n, na = self.n, len(self._active)
        cost = np.concatenate([priced.plain_cost[users], priced.battery_cost[batteries]])
        share = np.vstack([priced.plain_share[users], priced.battery_share[batteries]])
        convexity = np.concatenate([n + users, n + na + batteries]).astype(np.int64)
        k = len(cost)
        first = len(self._cost)
        self._cost = np.concatenate([self._cost, cost])
        self._share = np.vstack([self._share, share])
        self._row = np.concatenate([self._row, convexity])
        self._born = np.concatenate([self._born, np.full(k, len(self._state.rounds))])
        if k:
            index = np.empty((k, n + 1), dtype=np.int32)
            index[:, :n] = np.arange(n)
            index[:, n] = convexity
            value = np.empty((k, n + 1))
            value[:, :n] = -share
            value[:, n] = 1.0
            master.addCols(
                k,
                cost,
                np.zeros(k),
                np.full(k, np.inf),
                k * (n + 1),
                (np.arange(k) * (n + 1)).astype(np.int32),
                index.ravel(),
                value.ravel(),
            )
            self._pool = np.concatenate([self._pool, first + np.arange(k)])
        plain_col = np.full(na, -1, dtype=np.int64)
        plain_col[users] = first + np.arange(len(users))
        battery_col = np.full(len(self.owners), -1, dtype=np.int64)
        battery_col[batteries] = first + len(users) + np.arange(len(batteries))
        self._state.rounds.append(_Round(priced.plain_x, priced.battery, plain_col, battery_col))

    def _add_improving(
        self,
        priced: _Pricing,
        point: FloatArray,
        y: FloatArray,
        sigma: FloatArray,
        p_cost: FloatArray,
        p_lower: FloatArray,
        p_upper: FloatArray,
    ) -> tuple[int, float]:
        """Add the proposals (priced at `point`) of negative reduced cost at the master's duals
        `y`; return how many and the Lagrangian bound at `point` (a lower bound on the LP)."""
        na = len(self._active)
        plain_rc = priced.plain_cost + priced.plain_share @ y - sigma[:na]
        battery_rc = priced.battery_cost + priced.battery_share @ y - sigma[na:]
        tol_p = _REDUCED_COST_TOL * np.maximum(1.0, np.abs(priced.plain_cost))
        tol_b = _REDUCED_COST_TOL * np.maximum(1.0, np.abs(priced.battery_cost))
        users = np.flatnonzero(plain_rc < -tol_p)
        batteries = np.flatnonzero(battery_rc < -tol_b)
        reduced, _ = self._ready()
        fixed = reduced.lp.row_lower[reduced.lp.balance_rows]
        value = float(
            (priced.plain_cost + priced.plain_share @ point).sum()
            + (priced.battery_cost + priced.battery_share @ point).sum()
        )
        bound = (
            value
            + float(point @ fixed)
            + _box_minimum(np.asarray(p_cost, dtype=np.float64) - point, p_lower, p_upper)
        )
        if len(users) or len(batteries):
            self._add(priced, users, batteries)
        return len(users) + len(batteries), bound

    def _prune(self, y: FloatArray, sigma: FloatArray) -> None:
        """Drop nonbasic proposals far from entering (reduced cost above a threshold): each
        simplex iteration prices every column, and most proposals of early rounds are never
        used again. Dropped proposals stay in the store and are re-found if ever needed."""
        _, master = self._ready()
        n = self.n
        pool = self._pool
        if len(pool) < _PRUNE_ABOVE:
            return
        basis = master.getBasis()
        status = np.array([int(v) for v in basis.col_status[3 * n :]], dtype=np.int64)
        basic = status == int(highspy.HighsBasisStatus.kBasic)
        rc = self._cost[pool] + self._share[pool] @ y - sigma[self._row[pool] - n]
        # Young proposals stay whatever their reduced cost: dropping what the last rounds found
        # makes the duals cycle (measured: no convergence in 200 rounds).
        old = self._born[pool] <= len(self._state.rounds) - _PRUNE_AGE
        drop = ~basic & old & (rc > _PRUNE_REDUCED_COST_EUR)
        if not drop.any():
            return
        cols = (3 * n + np.flatnonzero(drop)).astype(np.int32)
        master.deleteCols(len(cols), cols)
        self._pool = pool[~drop]


def _box_minimum(slope: FloatArray, lower: FloatArray, upper: FloatArray) -> float:
    """min of slope . P over lower <= P <= upper (-inf when unbounded below)."""
    total = 0.0
    for s, lo, up in zip(slope, lower, upper, strict=True):
        if s > 0:
            total += s * lo
        elif s < 0:
            total += s * up
    return total
