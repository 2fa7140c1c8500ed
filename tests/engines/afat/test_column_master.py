"""The sifted master against the full master LP: settling blocks and keeping proposals out of
the master must not change its optimum or its duals' validity."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from engines.afat.column_master import SiftedMaster


def _full_master(
    cost: np.ndarray,
    share: np.ndarray,
    block: np.ndarray,
    blocks: int,
    fixed: np.ndarray,
    p_cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> float:
    n = len(fixed)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    k = len(cost)
    h.addVars(
        n + k, np.concatenate([lower, np.zeros(k)]), np.concatenate([upper, np.full(k, np.inf)])
    )
    h.changeColsCost(n + k, np.arange(n + k, dtype=np.int32), np.concatenate([p_cost, cost]))
    for t in range(n):
        idx = np.concatenate([[t], n + np.arange(k)]).astype(np.int32)
        val = np.concatenate([[1.0], -share[:, t]])
        h.addRow(fixed[t], fixed[t], len(idx), idx, val)
    for b in range(blocks):
        cols = (n + np.flatnonzero(block == b)).astype(np.int32)
        h.addRow(1.0, 1.0, len(cols), cols, np.ones(len(cols)))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sifted_master_matches_the_full_master(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, blocks = 4, 60
    fixed = rng.uniform(-5, 5, n)
    master = SiftedMaster(n, blocks, fixed, 60.0)
    master.art_cost = np.full(2 * n, 1e4)
    # Each block's first proposal settles it; later ones arrive in batches, as pricing rounds.
    every = np.arange(blocks)
    master.add(rng.uniform(0, 10, blocks), rng.uniform(-2, 2, (blocks, n)), every)
    middle = master.share.sum(axis=0) + fixed
    master.p_cost = rng.uniform(-1, 1, n)
    master.p_lower = middle - rng.uniform(0.5, 3.0, n)
    master.p_upper = middle + rng.uniform(0.5, 3.0, n)
    for _ in range(6):
        some = rng.choice(blocks, size=blocks // 2, replace=False)
        master.add(rng.uniform(0, 10, len(some)), rng.uniform(-2, 2, (len(some), n)), some)
        solution = master.solve()
        assert solution.model_status == highspy.HighsModelStatus.kOptimal
        master.settle(solution)
    assert solution.artificial_kw < 1e-9
    assert int(master.open.sum()) < blocks  # some blocks are settled out of the master
    expected = _full_master(
        master.cost,
        master.share,
        master.block,
        blocks,
        fixed,
        master.p_cost,
        master.p_lower,
        master.p_upper,
    )
    assert solution.objective == pytest.approx(expected, rel=1e-9, abs=1e-7)
    # The duals price every stored proposal non-negatively (the master is optimal over all).
    rc = master.reduced_costs(solution.y, solution.sigma)
    assert rc.min() > -1e-6
    # The weights are a convex combination per block that meets the balance rows.
    w = solution.weights
    assert np.allclose(np.bincount(master.block, weights=w, minlength=blocks), 1.0)
    assert np.allclose(solution.p_kw - w @ master.share, fixed, atol=1e-7)
