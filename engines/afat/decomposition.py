"""The centralised LP solved exactly by Dantzig-Wolfe decomposition.

The portfolio LP is block-angular: prosumers are independent except through the request's
few coupling rows (the portfolio's prosumption in the requested slots). Cut into chunks of a
few dozen prosumers, each chunk re-solves from its last basis in milliseconds when the prices
change. Measured on 2 shared cores: a pass over 10,000 prosumers takes about 1.5 s, but the
column generation needs 60-100 passes on an evening request with a binding volume, so it is
not faster than one LP there (bench/afat_aggregation.py); it is the price-only variant
(chunks never reveal their assets) and a cross-check of the single LP.

Master problem: per chunk, a convex combination of the chunk's proposals (each proposal: its
cost and its prosumption in the requested slots), plus the aggregate prosumption `P_t` with
the request's price and bounds. Its duals `y_t` price the chunks' prosumption in the
requested slots; each chunk answers with its cheapest schedule at those prices, added to the
master when its reduced cost is negative. The Lagrangian bound closes the gap; at the end each
chunk re-solves with its share of the aggregate fixed, which recovers an optimal schedule
without storing the proposals' schedules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from engines.afat.highs import HighsSession, SolveStatus
from engines.afat.lp import FloatArray, IntArray, PortfolioLp, Readout, build
from engines.afat.portfolio import Prosumer
from engines.highs_model import column_lp, quiet_highs

_GAP = 1e-7  # relative optimality gap of the decomposition
_SMOOTHING = 0.5
_MAX_ROUNDS = 500


@dataclass
class _Chunk:
    lp: PortfolioLp
    session: HighsSession
    costs: list[float] = field(default_factory=list)  # device cost of each proposal, EUR
    shares: list[FloatArray] = field(default_factory=list)  # its prosumption in the slots, kW

    def price(self, y: FloatArray) -> tuple[SolveStatus, float, FloatArray, FloatArray]:
        """The chunk's cheapest schedule when its prosumption in the coupled slots costs `y`."""
        n = len(self.lp.p_cols)
        free = np.full(n, np.inf)
        self.session.change_cols(self.lp.p_cols, y, -free, free)
        sol = self.session.solve()
        if sol.status != "optimal":
            return sol.status, 0.0, np.zeros(n), sol.x
        mine = self.lp.owner >= 0
        return "optimal", float(self.lp.cost[mine] @ sol.x[mine]), sol.x[self.lp.p_cols], sol.x


@dataclass(frozen=True)
class MasterSolution:
    status: SolveStatus
    condition: str
    device_cost_eur: float  # cost of the chosen combination (energy, discomfort, wear)
    p_kw: FloatArray  # aggregate prosumption in the coupled slots
    duals: FloatArray  # y_t, EUR per kW of prosumption per coupled slot
    rounds: int


class Decomposition:
    """Chunks built once; `solve` may be called repeatedly (response, offer levels) and
    keeps every proposal found so far, so later solves start from a rich master."""

    def __init__(
        self,
        prosumers: list[Prosumer],
        slots: int,
        slot_hours: float,
        energy_price_eur_per_mwh: FloatArray,
        coupled: IntArray,
        chunk_size: int,
        time_limit_s: float,
    ) -> None:
        self.chunks: list[_Chunk] = []
        coupled_i = np.asarray(coupled, dtype=np.int64)
        for start in range(0, len(prosumers), chunk_size):
            lp = build(
                prosumers[start : start + chunk_size],
                slots,
                slot_hours,
                energy_price_eur_per_mwh,
                coupled_i,
            )
            self.chunks.append(_Chunk(lp, HighsSession(lp, time_limit_s)))
        self.n = len(coupled_i)
        self.baseline_x: list[FloatArray] = []

    def baseline(self) -> tuple[SolveStatus, Readout, FloatArray]:
        """Every chunk at zero coupling price: the baseline, which is also each chunk's first
        proposal (a feasible master: zero flexibility is always allowed)."""
        parts: list[Readout] = []
        for chunk in self.chunks:
            status, cost, share, x = chunk.price(np.zeros(self.n))
            if status != "optimal":
                return status, Readout.of(chunk.lp, np.zeros(chunk.lp.matrix.shape[1])), np.zeros(0)
            chunk.costs.append(cost)
            chunk.shares.append(share)
            self.baseline_x.append(x)
            parts.append(Readout.of(chunk.lp, x))
        base_cost = np.array([c.costs[0] for c in self.chunks])
        return "optimal", Readout.stack(parts), base_cost

    def solve(self, p_cost: FloatArray, p_lower: FloatArray, p_upper: FloatArray) -> MasterSolution:
        """Column generation with Wentges dual smoothing: chunks are priced at a point between
        the master's duals and the duals of the best Lagrangian bound so far, which damps the
        oscillation of plain column generation; a round that finds nothing at the smoothed
        point is retried at the master's own duals before it can stop."""
        rounds = 0
        center: FloatArray | None = None
        best_bound = -np.inf
        while True:
            rounds += 1
            master = self._master(p_cost, p_lower, p_upper)
            if master is None:
                zero = np.zeros(self.n)
                return MasterSolution("error", "master failed", 0.0, zero, zero, rounds)
            objective, weights, p_kw, y, sigma = master
            smoothing = _SMOOTHING if center is not None else 0.0
            while True:
                point = y if center is None else smoothing * center + (1 - smoothing) * y
                # Lagrangian bound at `point`: the box term of the aggregate plus each chunk's
                # best response.
                slope = p_cost - point
                bound = float(np.sum(np.where(slope >= 0, slope * p_lower, slope * p_upper)))
                added = 0
                for c, chunk in enumerate(self.chunks):
                    status, cost, share, _ = chunk.price(point)
                    if status != "optimal":
                        return MasterSolution(status, "chunk failed", 0.0, p_kw, y, rounds)
                    bound += cost + float(point @ share)
                    if cost + float(y @ share) - sigma[c] < -1e-9 * max(1.0, abs(cost)):
                        chunk.costs.append(cost)
                        chunk.shares.append(share)
                        added += 1
                if bound > best_bound:
                    best_bound, center = bound, point.copy()
                if added or smoothing == 0.0:
                    break
                smoothing = 0.0  # mispricing: retry at the master's duals
            gap = objective - best_bound
            done = added == 0 or gap <= _GAP * max(1.0, abs(objective))
            if done or rounds >= _MAX_ROUNDS:
                if added:
                    master = self._master(p_cost, p_lower, p_upper)
                    if master is None:
                        return MasterSolution("error", "master failed", 0.0, p_kw, y, rounds)
                    objective, weights, p_kw, y, sigma = master
                self._weights = weights
                device = objective - float(p_cost @ p_kw)
                condition = "optimal" if done else "round_limit"
                return MasterSolution("optimal", condition, device, p_kw, y, rounds)

    def recover(self, y: FloatArray) -> list[FloatArray]:
        """Each chunk's schedule with its share of the last master's aggregate fixed."""
        out: list[FloatArray] = []
        offset = 0
        for chunk in self.chunks:
            k = len(chunk.costs)
            w = self._weights[offset : offset + k]
            offset += k
            target = np.asarray(w @ np.vstack(chunk.shares), dtype=np.float64)
            chunk.session.change_cols(chunk.lp.p_cols, y, target, target)
            sol = chunk.session.solve()
            if sol.status != "optimal":
                raise RuntimeError("a chunk cannot reproduce its own convex combination")
            out.append(sol.x)
        return out

    def _master(
        self, p_cost: FloatArray, p_lower: FloatArray, p_upper: FloatArray
    ) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray] | None:
        n, chunks = self.n, self.chunks
        costs = np.concatenate([np.asarray(c.costs) for c in chunks])
        shares = np.vstack([np.vstack(c.shares) for c in chunks])  # proposals x n
        owner = np.concatenate([np.full(len(c.costs), i) for i, c in enumerate(chunks)])
        k = len(costs)
        # Columns: proposal weights, then P_t. Rows: coupling (n), convexity (one per chunk).
        # A weight column holds -q_j in the coupling rows and 1 in its chunk's convexity row.
        index_w = np.empty((k, n + 1), dtype=np.int64)
        index_w[:, :n] = np.arange(n)
        index_w[:, n] = n + owner
        value_w = np.empty((k, n + 1))
        value_w[:, :n] = -shares
        value_w[:, n] = 1.0
        starts = np.concatenate([np.arange(k + 1) * (n + 1), k * (n + 1) + np.arange(1, n + 1)])
        index = np.concatenate([index_w.ravel(), np.arange(n)])
        value = np.concatenate([value_w.ravel(), np.ones(n)])
        rows = n + len(chunks)
        rhs = np.concatenate([np.zeros(n), np.ones(len(chunks))])
        h = quiet_highs()
        h.passModel(
            column_lp(
                np.concatenate([costs, p_cost]),
                np.concatenate([np.zeros(k), p_lower]),
                np.concatenate([np.full(k, np.inf), p_upper]),
                sp.csc_matrix((value, index, starts), shape=(rows, k + n)),
                rhs,
                rhs,
            )
        )
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=np.float64)
        dual = np.asarray(sol.row_dual, dtype=np.float64)
        # Coupling rows read P_t - sum(w q) = 0: their duals price a kW of prosumption.
        return (
            float(h.getInfo().objective_function_value),
            x[:k],
            x[k:],
            dual[:n],
            dual[n:],
        )
