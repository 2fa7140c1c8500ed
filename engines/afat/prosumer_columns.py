"""The centralised LP solved exactly by Dantzig-Wolfe decomposition with one block per prosumer's
non-storage devices and one per battery, the large-portfolio solver.

The portfolio LP is block-angular: prosumers couple only through the request's balance rows
(their prosumption in the requested slots). Once those rows are priced (duals `y`), every
block's cheapest schedule has a closed form: the non-storage devices by sorting slots
(`engines.afat.plain_response`, about 20 ms for 10,000 households) and the batteries by the
exact state-of-charge dynamic programme over the request's window (`engines.afat.soc_value`);
but one LP holding all devices, whether with the batteries' SoC chains (`single_lp`,
`storage_window`) or with battery proposals next to the explicit non-storage LP
(`battery_split`), needs minutes of simplex iterations at that size. So the master holds no
device at all: per block a convex combination of the schedules it proposed (a convexity row
each, which lets the master combine prosumers individually, where chunk-level blocks needed
60-100 rounds), the aggregate prosumption `P_t` with the request's price and bounds, and the
balance rows (`engines.afat.column_master`: settled blocks leave it, box-step duals). Each
round prices every block at the master's duals; the loop stops when no block has a proposal
of negative reduced cost, or when the Lagrangian bound meets the master's objective, i.e. the
master's optimum is the LP's optimum (to a relative 1e-7, the simplex's own tolerance). The
schedules are the convex combinations of the proposals, so the primal solution is exact too.

Proposals are kept across solves (baseline, response, offer levels), so later solves start from
a rich store. Artificial columns keep the master feasible while proposals are missing; an
optimum that still uses them once the box is wide open means the bounds cannot be met.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from engines.afat.column_master import SiftedMaster
from engines.afat.highs import SolveStatus
from engines.afat.lp import FloatArray, IntArray, Readout
from engines.afat.plain_response import PlainResponse
from engines.afat.soc_value import Schedule, WindowedResponse
from engines.afat.split_portfolio import SplitPortfolio, StorageSolution

_MAX_ROUNDS = 200
_GAP = 1e-7  # relative gap between the master and the Lagrangian bound that ends a solve
_ARTIFICIAL_EUR_PER_KW = 1e4  # far above any flexibility price per kW and slot
_ARTIFICIAL_USED_KW = 1e-6
_BOX_FRACTION = 0.05  # first box half-width, of the largest price per kW the request puts on P
_BOX_GROWTH = 10.0


@dataclass
class _Round:
    """One pricing round, kept for the primal recovery: the duals it priced and which blocks'
    proposals were stored from it (the proposal's index, -1 if not stored). The responses are
    deterministic, so the recovery recomputes a round's schedules from its duals instead of
    keeping them (a round's non-storage solution is 1.4 million numbers at 10,000 households)."""

    y: FloatArray
    plain_col: IntArray
    battery_col: IntArray


@dataclass
class _Pricing:
    y: FloatArray
    plain_cost: FloatArray  # per active user
    plain_share: FloatArray  # active users x requested slots
    battery_cost: FloatArray
    battery_share: FloatArray


@dataclass
class _State:
    rounds: list[_Round] = field(default_factory=list)
    weights: FloatArray = field(default_factory=lambda: np.zeros(0))


class ProsumerColumns:
    """Built once; `solve` may be called repeatedly (baseline, response, offer levels)."""

    def __init__(self, split: SplitPortfolio, time_limit_s: float) -> None:
        self.split = split
        self.time_limit_s = time_limit_s
        plain, requested, n = split.plain, split.requested, split.n
        # Only the request's window changes price between pricing rounds: the batteries'
        # value functions before and after it are computed once.
        self._batteries = WindowedResponse.of(
            split.bat, split.price_kwh, split.dt, int(requested.min()), int(requested.max())
        )
        self._response = PlainResponse.of(plain)
        # Column j's prosumption in requested slot k (what a dual y_k adds to its cost).
        keys = (np.arange(plain.users)[:, None] * split.slots + requested[None, :]).ravel()
        per_user = plain.contribution[keys].tocoo()
        self._coupling = sp.csr_matrix(
            (per_user.data, (per_user.col, per_user.row % n)), shape=(len(plain.cost), n)
        )
        # Blocks are the users whose devices reach a requested slot; the others' cheapest
        # schedule never depends on the duals.
        owner = plain.owner
        self._active = np.unique(owner[self._coupling.getnnz(axis=1) > 0])
        index = np.full(plain.users, -1, dtype=np.int64)
        index[self._active] = np.arange(len(self._active))
        self._col_owner = np.where(owner >= 0, index[np.maximum(owner, 0)], -1)
        active_keys = (self._active[:, None] * split.slots + requested[None, :]).ravel()
        self._share_map = plain.contribution[active_keys].tocsr()
        self._idle_x = np.zeros(len(plain.cost))  # the inactive users' schedule
        self._idle_cost = 0.0
        self._master: SiftedMaster | None = None
        self._state = _State()
        self._center = np.zeros(n)  # the last solve's duals: where the next one starts
        self._last_p_cost = np.zeros(n)

    # -- solving ---------------------------------------------------------------------------

    def baseline(self) -> tuple[SolveStatus, str, Readout, float]:
        """The schedule with the aggregate free and costless; seeds the master with every
        block's baseline proposal (at zero duals it is already optimal)."""
        x = self._response.respond(self.split.plain.cost)
        idle = self._col_owner < 0
        self._idle_x = np.where(idle, x, 0.0)
        self._idle_cost = float(self.split.plain.cost @ self._idle_x)
        self._build_master(self._price(np.zeros(self.split.n)))
        free = np.full(self.split.n, np.inf)
        sol = self.solve(np.zeros(self.split.n), -free, free)
        if sol.status != "optimal":
            return sol.status, sol.condition, self._empty(), 0.0
        return "optimal", sol.condition, self.readout(), sol.device_cost_eur

    def solve(
        self, p_cost: FloatArray, p_lower: FloatArray, p_upper: FloatArray
    ) -> StorageSolution:
        master = self._ready()
        n = self.split.n
        master.p_cost = np.asarray(p_cost, dtype=np.float64)
        master.p_lower = np.asarray(p_lower, dtype=np.float64)
        master.p_upper = np.asarray(p_upper, dtype=np.float64)
        zero = np.zeros(n)
        # A free P_t fixes its dual at its cost: no box there.
        free = ~(np.isfinite(master.p_lower) & np.isfinite(master.p_upper))
        # Start from the last solve's duals, moved to the new cost of P_t on the side they
        # were of the old one (a dual below P_t's cost means P_t sat at its lower bound, and
        # the dual of a P_t at a bound stays on that side of its cost).
        below = self._center <= self._last_p_cost
        center: FloatArray = np.where(
            below,
            np.minimum(self._center, master.p_cost),
            np.maximum(self._center, master.p_cost),
        )
        center = np.where(free, master.p_cost, center)
        scale = max(float(np.abs(master.p_cost).max(initial=0.0)), 1e-6)
        width = np.where(free, 0.0, _BOX_FRACTION * scale)
        rounds = 0
        best_bound = -np.inf
        while True:
            rounds += 1
            upper = np.minimum(center + width, _ARTIFICIAL_EUR_PER_KW)
            lower = np.maximum(center - width, -_ARTIFICIAL_EUR_PER_KW)
            # An artificial +1 column at cost c caps y_t at c; a -1 column at cost c at -c.
            master.art_cost = np.concatenate([upper, -lower]) + 1e-9
            sol = master.solve()
            if sol.model_status != highspy.HighsModelStatus.kOptimal:
                status: SolveStatus = (
                    "time_limit"
                    if sol.model_status == highspy.HighsModelStatus.kTimeLimit
                    else "error"
                )
                return StorageSolution(status, sol.condition, 0.0, zero, zero, rounds)
            if rounds > _MAX_ROUNDS:
                break
            priced = self._price(sol.y)
            added, bound = self._add_improving(
                priced, sol.y, sol.sigma, master.p_cost, master.p_lower, master.p_upper
            )
            if bound > best_bound:
                best_bound = bound
                center = np.where(free, master.p_cost, sol.y)
            if sol.artificial_kw <= _ARTIFICIAL_USED_KW:
                # No artificial in use: the master's objective bounds the optimum from above.
                gap = sol.objective - best_bound
                if added == 0 or gap <= _GAP * max(1.0, abs(sol.objective)):
                    if added:  # the bound closed the gap; re-solve so weights match the duals
                        sol = master.solve()
                    break
            elif added == 0:
                # The box holds the duals away from where the artificials would price out.
                if width.max() >= _ARTIFICIAL_EUR_PER_KW:
                    break
                width = np.where(free, 0.0, np.minimum(width * _BOX_GROWTH, _ARTIFICIAL_EUR_PER_KW))
            master.settle(sol)
        if sol.artificial_kw > _ARTIFICIAL_USED_KW:
            return StorageSolution(
                "infeasible", "the request's bounds cannot be met", 0.0, zero, sol.y, rounds
            )
        self._center = sol.y.copy()
        self._last_p_cost = master.p_cost.copy()
        self._state.weights = sol.weights
        device = sol.objective - float(master.p_cost @ sol.p_kw) + self._idle_cost
        condition = "optimal" if rounds <= _MAX_ROUNDS else "round_limit"
        return StorageSolution("optimal", condition, device, sol.p_kw, sol.y, rounds)

    # -- reading a solution back -----------------------------------------------------------

    def readout(self) -> Readout:
        """Each block's schedule as its proposals' convex combination in the last solve."""
        w = self._state.weights
        plain_x = self._idle_x.copy()
        mine = self._col_owner >= 0
        nb = len(self.split.owners)
        charge = np.zeros((nb, self.split.slots))
        discharge = np.zeros((nb, self.split.slots))
        soc = np.zeros((nb, self.split.slots))
        for r in self._state.rounds:
            per_user = np.where(r.plain_col >= 0, w[np.maximum(r.plain_col, 0)], 0.0)
            if per_user.any():
                x = self._plain_response(r.y)
                plain_x[mine] += per_user[self._col_owner[mine]] * x[mine]
            per_battery = np.where(r.battery_col >= 0, w[np.maximum(r.battery_col, 0)], 0.0)
            if per_battery.any():
                schedule = self._battery_response(r.y)
                charge += per_battery[:, None] * schedule.charge_kw
                discharge += per_battery[:, None] * schedule.discharge_kw
                soc += per_battery[:, None] * schedule.soc_kwh
        out = Readout.of(self.split.plain, plain_x)
        if nb:
            battery_kw = charge - discharge
            wear = (discharge * self.split.dt).sum(axis=1) * self.split.bat.wear_eur_per_kwh
            out.prosumption_kw[self.split.owners] += battery_kw
            out.series["battery_kw"][self.split.owners] += battery_kw
            out.soc_kwh[self.split.owners] += soc
            out.discomfort_eur[self.split.owners] += wear
        return out

    # -- internals -------------------------------------------------------------------------

    def _ready(self) -> SiftedMaster:
        if self._master is None:
            raise RuntimeError("solve the baseline first: it seeds the master")
        return self._master

    def _empty(self) -> Readout:
        return Readout.of(self.split.plain, np.zeros(len(self.split.plain.cost)))

    def _plain_response(self, y: FloatArray) -> FloatArray:
        """The non-storage devices' cheapest schedule (closed form per device) when a kW of
        prosumption in requested slot t costs `y_t` on top of the energy price."""
        return self._response.respond(self.split.plain.cost + self._coupling @ y)

    def _battery_response(self, y: FloatArray) -> Schedule:
        prices = self.split.price_kwh.copy()
        prices[self.split.requested] += y / self.split.dt
        return self._batteries.respond(prices[self._batteries.first : self._batteries.last + 1])

    def _price(self, y: FloatArray) -> _Pricing:
        """Every block's cheapest schedule at the duals `y`: its cost and its share of the
        requested slots."""
        x = self._plain_response(y)
        mine = self._col_owner >= 0
        plain_cost = np.bincount(
            self._col_owner[mine],
            weights=(self.split.plain.cost * x)[mine],
            minlength=len(self._active),
        ).astype(np.float64)
        plain_share = np.asarray(self._share_map @ x, dtype=np.float64).reshape(
            len(self._active), self.split.n
        )
        schedule = self._battery_response(y)
        net = schedule.charge_kw - schedule.discharge_kw
        battery_cost = (net @ self.split.price_kwh) * self.split.dt + (
            schedule.discharge_kw.sum(axis=1) * self.split.dt * self.split.bat.wear_eur_per_kwh
        )
        return _Pricing(y, plain_cost, plain_share, battery_cost, net[:, self.split.requested])

    def _build_master(self, first: _Pricing) -> None:
        """The master over every active user's and every battery's block, seeded with each
        block's first proposal (which settles it)."""
        blocks = len(self._active) + len(self.split.owners)
        fixed = self.split.plain.row_lower[self.split.plain.balance_rows]
        self._master = SiftedMaster(self.split.n, blocks, fixed, self.time_limit_s)
        self._add(first, np.arange(len(self._active)), np.arange(len(self.split.owners)))

    def _add(self, priced: _Pricing, users: IntArray, batteries: IntArray) -> None:
        """Store the given blocks' proposals of this round (block index: active user, then
        battery after all users) and remember the round for the primal recovery."""
        master = self._ready()
        na = len(self._active)
        index = master.add(
            np.concatenate([priced.plain_cost[users], priced.battery_cost[batteries]]),
            np.vstack([priced.plain_share[users], priced.battery_share[batteries]]),
            np.concatenate([users, na + batteries]).astype(np.int64),
        )
        plain_col = np.full(na, -1, dtype=np.int64)
        plain_col[users] = index[: len(users)]
        battery_col = np.full(len(self.split.owners), -1, dtype=np.int64)
        battery_col[batteries] = index[len(users) :]
        self._state.rounds.append(_Round(priced.y, plain_col, battery_col))

    def _add_improving(
        self,
        priced: _Pricing,
        y: FloatArray,
        sigma: FloatArray,
        p_cost: FloatArray,
        p_lower: FloatArray,
        p_upper: FloatArray,
    ) -> tuple[int, float]:
        """Add the proposals (priced at the master's duals `y`) of negative reduced cost;
        return how many and the Lagrangian bound at `y` (a lower bound on the LP)."""
        na = len(self._active)
        master = self._ready()
        plain_value = priced.plain_cost + priced.plain_share @ y
        battery_value = priced.battery_cost + priced.battery_share @ y
        plain_rc = plain_value - sigma[:na]
        battery_rc = battery_value - sigma[na:]
        tol_p = master.tolerance * np.maximum(1.0, np.abs(priced.plain_cost))
        tol_b = master.tolerance * np.maximum(1.0, np.abs(priced.battery_cost))
        users = np.flatnonzero(plain_rc < -tol_p)
        batteries = np.flatnonzero(battery_rc < -tol_b)
        bound = (
            float(plain_value.sum() + battery_value.sum())
            + float(y @ master.fixed)
            + _box_minimum(p_cost - y, p_lower, p_upper)
        )
        if len(users) or len(batteries):
            self._add(priced, users, batteries)
        return len(users) + len(batteries), bound


def _box_minimum(slope: FloatArray, lower: FloatArray, upper: FloatArray) -> float:
    """min of slope . P over lower <= P <= upper (-inf when unbounded below)."""
    total = 0.0
    for s, lo, up in zip(slope, lower, upper, strict=True):
        if s > 0:
            total += s * lo
        elif s < 0:
            total += s * up
    return total
