"""Solution arrays -> PeriodResult Structs (names instead of ppc rows, MW instead of per unit)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engines.fmct.acopf import OpfSolution
from engines.fmct.market import PeriodFlex
from engines.fmct.needs import branch_loading_percent, voltage_deviations
from engines.fmct.network import Grid
from engines.fmct.schema import (
    ClearingOffer,
    ClearingOptions,
    ClearingRequest,
    OfferDispatch,
    PeriodResult,
    RequestDispatch,
)

BINDING_RELATIVE = 1e-4


def period_result(
    grid: Grid,
    pf: PeriodFlex,
    sol: OpfSolution,
    period_index: int,
    offers: Sequence[ClearingOffer],
    requests: Sequence[ClearingRequest],
    options: ClearingOptions,
) -> PeriodResult:
    x_mw = sol.x * grid.base_mva
    offer_vol: dict[int, list[float]] = {}
    request_vol: dict[int, list[float]] = {}
    for k in range(len(x_mw)):
        owner = int(pf.owner[k])
        if pf.owner_kind[k] == 0:
            offer_vol.setdefault(owner, [0.0] * 4)[int(pf.component[k])] += float(x_mw[k])
        else:
            request_vol.setdefault(owner, [0.0] * 2)[int(pf.component[k])] += float(x_mw[k])
    loading = branch_loading_percent(grid, sol.vm, sol.sf, sol.st)
    limit = options.loading_max_percent
    active = np.flatnonzero(grid.active)
    ref_rows = np.flatnonzero(grid.gen_is_ref)
    return PeriodResult(
        period_index=period_index,
        offers=[
            OfferDispatch(
                offer_id=offers[i].id,
                p_up_mw=v[0],
                p_down_mw=v[1],
                q_up_mvar=v[2],
                q_down_mvar=v[3],
            )
            for i, v in sorted(offer_vol.items())
        ],
        requests=[
            RequestDispatch(request_id=requests[i].id, p_mw=v[0], q_mvar=v[1])
            for i, v in sorted(request_vol.items())
        ],
        vm_pu={grid.bus_ids[b]: float(sol.vm[b]) for b in active},
        branch_loading_percent={
            grid.branch_ids[i]: float(loading[i])
            for i in range(grid.n_branch)
            if np.isfinite(grid.rating[i])
        },
        binding_branches=[
            grid.branch_ids[i] for i in np.flatnonzero(loading >= limit * (1.0 - BINDING_RELATIVE))
        ],
        voltage_deviations=voltage_deviations(
            grid, sol.vm, options.v_min_pu, options.v_max_pu, tol=1e-6
        ),
        dlmp_p_eur_per_mwh={grid.bus_ids[b]: float(sol.lam_p[b]) for b in active},
        qlmp_eur_per_mvarh={grid.bus_ids[b]: float(sol.lam_q[b]) for b in active},
        upstream_p_mw=float(np.sum(sol.pg[ref_rows]) * grid.base_mva),
        losses_mw=float(np.sum((sol.sf + sol.st).real) * grid.base_mva),
    )


def residual_violation(period: PeriodResult, options: ClearingOptions) -> float:
    """Largest excess: loading in percent points over the limit, or voltage in pu outside the band."""
    over = [v - options.loading_max_percent for v in period.branch_loading_percent.values()]
    volts = [d.deviation_pu for d in period.voltage_deviations]
    return max([0.0, *over, *volts])
