"""The Dantzig-Wolfe master of `prosumer_columns`, kept small by sifting.

Blocks (a prosumer's non-storage devices, a battery) couple only through the request's `n`
balance rows: `P_t - sum of the chosen proposals' shares = fixed_t`, one convexity row per block.
At 10,000 households the full master has about 10,000 rows and tens of thousands of proposal
columns, each dense in the balance rows, and a simplex iteration on it costs most of a
millisecond; yet at an optimum at most `n` blocks mix two proposals and most blocks sit on one
proposal round after round. So a block is *settled* while one proposal carries it with weight 1:
that proposal's share moves to the right-hand side and the block leaves the master (no row, no
columns). The master holds only the unsettled blocks and the proposals near entering.

Exactness is the plain column-generation argument applied twice. After each master solve every
stored proposal is priced at the master's duals (a matrix product over the store): a settled
block's dual is its carrier's cost at those duals, so a proposal cheaper than its carrier, or a
kept-out proposal of an unsettled block with negative reduced cost, joins the master (with its
block) and the master is solved again. When nothing joins, the duals price every stored proposal
non-negatively: the master is optimal over the whole store, settled blocks included.

Box-step stabilisation (`art_cost`, set by `prosumer_columns`): the artificial columns of the
balance rows cost `center +- width`, which keeps the master's duals within that box around the
best Lagrangian point so far; far from it the master's duals swing from one extreme to another
and pricing them proposes schedules nobody needs (measured at 3,000 households: 14 rounds
instead of 28).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from engines.afat.lp import FloatArray, IntArray
from engines.highs_model import column_lp, quiet_highs

_BASIC = int(highspy.HighsBasisStatus.kBasic)
_LOWER = int(highspy.HighsBasisStatus.kLower)
_STATUSES = [
    highspy.HighsBasisStatus.kLower,
    highspy.HighsBasisStatus.kBasic,
    highspy.HighsBasisStatus.kUpper,
    highspy.HighsBasisStatus.kZero,
    highspy.HighsBasisStatus.kNonbasic,
]
_WEIGHT_ONE = 1.0 - 1e-9
_ADMIT_PER_BLOCK = 2


@dataclass(frozen=True)
class MasterSolution:
    model_status: highspy.HighsModelStatus
    condition: str
    objective: float  # of the master, settled blocks' carriers included
    p_kw: FloatArray
    artificial_kw: float
    y: FloatArray  # balance rows' duals
    sigma: FloatArray  # every block's convexity dual (settled: its carrier's priced cost)
    weights: FloatArray  # per stored proposal


class SiftedMaster:
    def __init__(self, n: int, blocks: int, fixed: FloatArray, time_limit_s: float) -> None:
        self.n = n
        self.blocks = blocks
        self.fixed = np.asarray(fixed, dtype=np.float64)
        self.time_limit_s = time_limit_s
        self.tolerance = 1e-7  # EUR of reduced cost, relative to a proposal's cost (at least 1)
        # The store: every proposal found (cost, share in the requested slots, block).
        self.cost = np.zeros(0)
        self.share = np.zeros((0, n))
        self.block = np.zeros(0, dtype=np.int64)
        self.carrier = np.full(blocks, -1, dtype=np.int64)  # settled blocks' proposal
        self.in_master = np.zeros(0, dtype=bool)
        self.open = np.zeros(blocks, dtype=bool)  # unsettled: a row in the master
        # Basis statuses carried from one build of the master to the next.
        self._col_status = np.zeros(0, dtype=np.int64)
        self._row_status = np.full(blocks, _LOWER, dtype=np.int64)
        self._head_status = np.concatenate([np.full(n, _BASIC), np.full(2 * n, _LOWER)]).astype(
            np.int64
        )  # P (basic), artificials
        self._balance_status = np.full(n, _LOWER, dtype=np.int64)
        self.p_cost = np.zeros(n)
        self.p_lower = np.full(n, -np.inf)
        self.p_upper = np.full(n, np.inf)
        self.art_cost = np.full(2 * n, 1e4)
        self._h = quiet_highs(time_limit_s)
        # Primal simplex: new columns and settled blocks coming back keep the basis feasible.
        self._h.setOptionValue("simplex_strategy", 4)

    # -- the store -------------------------------------------------------------------------

    def add(self, cost: FloatArray, share: FloatArray, block: IntArray) -> IntArray:
        """Store proposals; they join the master, and so do their blocks (with their carriers).
        A block's first proposal becomes its carrier (the block starts settled)."""
        k = len(cost)
        first = len(self.cost)
        index = first + np.arange(k, dtype=np.int64)
        self.cost = np.concatenate([self.cost, cost])
        self.share = np.vstack([self.share, share])
        self.block = np.concatenate([self.block, block])
        self.in_master = np.concatenate([self.in_master, np.zeros(k, dtype=bool)])
        self._col_status = np.concatenate([self._col_status, np.full(k, _LOWER, dtype=np.int64)])
        new_block = self.carrier[block] < 0
        self.carrier[block[new_block]] = index[new_block]
        self._admit(index[~new_block])
        return index

    def _admit(self, cols: IntArray) -> None:
        """Put stored proposals into the master; a settled block opens with its carrier basic
        (weight 1, as it was) and its row nonbasic, so the basis stays valid and feasible."""
        if not len(cols):
            return
        self.in_master[cols] = True
        blocks = np.unique(self.block[cols])
        opening = blocks[~self.open[blocks]]
        carriers = self.carrier[opening]
        self.in_master[carriers] = True
        self._col_status[carriers] = _BASIC
        self._row_status[opening] = _LOWER
        self.open[opening] = True

    # -- solving ---------------------------------------------------------------------------

    def solve(self) -> MasterSolution:
        """The master's optimum over every stored proposal."""
        while True:
            solution = self._run()
            if solution.model_status != highspy.HighsModelStatus.kOptimal:
                return solution
            entering = self._entering(solution.y, solution.sigma)
            if not len(entering):
                return solution
            self._admit(entering)

    def _entering(self, y: FloatArray, sigma: FloatArray) -> IntArray:
        out = np.flatnonzero(~self.in_master)
        rc = self.reduced_costs(y, sigma, out)
        tol = self.tolerance * np.maximum(1.0, np.abs(self.cost[out]))
        cols = out[rc < -tol]
        # The two most negative per block: after the duals move, most stored proposals of a
        # block price in together, and admitting them all (tens of thousands at 10,000
        # households) made each re-solve slower than the extra re-solves this costs
        # (measured on the bench: all 82 s, one per block 58 s, two 49 s, three 56 s).
        rc = rc[rc < -tol]
        order = np.lexsort((rc, self.block[cols]))  # by block, then most negative first
        blocks = self.block[cols[order]]
        starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        return cols[order[rank < _ADMIT_PER_BLOCK]]

    def reduced_costs(
        self, y: FloatArray, sigma: FloatArray, cols: IntArray | None = None
    ) -> FloatArray:
        """Of the stored proposals `cols` (all by default) at the duals `y`, `sigma`."""
        if cols is None:
            cols = np.arange(len(self.cost))
        return self.cost[cols] + self.share[cols] @ y - sigma[self.block[cols]]

    def _run(self) -> MasterSolution:
        n = self.n
        cols = np.flatnonzero(self.in_master)
        opened = np.flatnonzero(self.open)
        row_of = np.full(self.blocks, -1, dtype=np.int64)
        row_of[opened] = n + np.arange(len(opened))
        settled = ~self.open & (self.carrier >= 0)
        carried = self.carrier[settled]
        rhs = self.fixed + self.share[carried].sum(axis=0)
        k = len(cols)
        h = self._h
        bounds = np.concatenate([rhs, np.ones(len(opened))])
        eye = np.arange(n, dtype=np.int32)
        # Column-wise: P_t (+1 in row t), artificials (+1, -1), proposals (-share, 1).
        head_index = np.concatenate([eye, eye, eye])
        head_value = np.concatenate([np.ones(2 * n), -np.ones(n)])
        body_index = np.empty((k, n + 1), dtype=np.int32)
        body_index[:, :n] = eye
        body_index[:, n] = row_of[self.block[cols]]
        body_value = np.empty((k, n + 1))
        body_value[:, :n] = -self.share[cols]
        body_value[:, n] = 1.0
        starts = np.concatenate([np.arange(3 * n), 3 * n + (n + 1) * np.arange(k + 1)])
        matrix = sp.csc_matrix(
            (
                np.concatenate([head_value, body_value.ravel()]),
                np.concatenate([head_index, body_index.ravel()]),
                starts,
            ),
            shape=(n + len(opened), 3 * n + k),
        )
        h.passModel(
            column_lp(
                np.concatenate([self.p_cost, self.art_cost, self.cost[cols]]),
                np.concatenate([self.p_lower, np.zeros(2 * n + k)]),
                np.concatenate([self.p_upper, np.full(2 * n + k, np.inf)]),
                matrix,
                bounds,
                bounds,
            )
        )
        basis = highspy.HighsBasis()
        basis.col_status = [
            _STATUSES[s] for s in np.concatenate([self._head_status, self._col_status[cols]])
        ]
        basis.row_status = [
            _STATUSES[s] for s in np.concatenate([self._balance_status, self._row_status[opened]])
        ]
        basis.valid = True
        h.setBasis(basis)
        h.run()
        status = h.getModelStatus()
        condition = h.modelStatusToString(status)
        if status != highspy.HighsModelStatus.kOptimal:
            zero = np.zeros(n)
            return MasterSolution(
                status, condition, 0.0, zero, 0.0, zero, np.zeros(self.blocks), np.zeros(0)
            )
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=np.float64)
        dual = np.asarray(sol.row_dual, dtype=np.float64)
        got = h.getBasis()
        col_status = np.array([int(s) for s in got.col_status], dtype=np.int64)
        row_status = np.array([int(s) for s in got.row_status], dtype=np.int64)
        self._head_status = col_status[: 3 * n]
        self._col_status[cols] = col_status[3 * n :]
        self._balance_status = row_status[:n]
        self._row_status[opened] = row_status[n:]
        y = dual[:n]
        sigma = self.cost[self.carrier] + self.share[self.carrier] @ y
        sigma[opened] = dual[n:]
        weights = np.zeros(len(self.cost))
        weights[carried] = 1.0
        weights[cols] = x[3 * n :]
        objective = float(h.getInfo().objective_function_value) + float(self.cost[carried].sum())
        return MasterSolution(
            status, condition, objective, x[:n], float(x[n : 3 * n].sum()), y, sigma, weights
        )

    # -- keeping it small ------------------------------------------------------------------

    def settle(self, solution: MasterSolution) -> None:
        """Between pricing rounds: drop from the master every nonbasic proposal that does not
        price in at the last duals (they stay stored, and come back when they do), then
        settle the blocks left with one proposal of weight 1 that is basic while their row is
        not. (Doing this inside `solve`'s re-solves was tried: proposals went out and came
        back hundreds of times.)"""
        cols = np.flatnonzero(self.in_master)
        y, sigma, weights = solution.y, solution.sigma, solution.weights
        rc = self.reduced_costs(y, sigma, cols)
        tol = self.tolerance * np.maximum(1.0, np.abs(self.cost[cols]))
        far = (self._col_status[cols] != _BASIC) & (rc > -tol)
        self.in_master[cols[far]] = False
        self._col_status[cols[far]] = _LOWER
        kept = cols[~far]
        count = np.bincount(self.block[kept], minlength=self.blocks)
        single = self.open & (count == 1)
        only = np.full(self.blocks, -1, dtype=np.int64)
        only[self.block[kept]] = kept  # for single blocks, their one proposal
        candidates = np.flatnonzero(single)
        carrier = only[candidates]
        ok = (
            (weights[carrier] >= _WEIGHT_ONE)
            & (self._col_status[carrier] == _BASIC)
            & (self._row_status[candidates] != _BASIC)
        )
        blocks, carrier = candidates[ok], carrier[ok]
        self.carrier[blocks] = carrier
        self.in_master[carrier] = False
        self._col_status[carrier] = _LOWER
        self.open[blocks] = False
