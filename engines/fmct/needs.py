"""Needs identification: AC power flow per period, congested branches and voltage deviations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engines.fmct.network import Grid, period_grid
from engines.fmct.schema import (
    BranchState,
    ClearingOptions,
    Finding,
    NeedsPeriod,
    NeedsResult,
    PeriodSchedule,
    VoltageDeviation,
)


def branch_loading_percent(grid: Grid, vm: np.ndarray[Any, Any], sf: Any, st: Any) -> Any:
    """Current-based loading (as pandapower): |S|/|V| over the 100 % rating, worse end."""
    with np.errstate(divide="ignore", invalid="ignore"):
        i_f = np.abs(sf) / vm[grid.f]
        i_t = np.abs(st) / vm[grid.t]
        loading = 100.0 * np.maximum(i_f, i_t) / grid.rating
    return np.where(np.isfinite(grid.rating), loading, 0.0)


def base_flows(grid: Grid) -> tuple[Any, Any]:
    v = grid.vm * np.exp(1j * grid.va)
    vf, vt = v[grid.f], v[grid.t]
    return vf * np.conj(grid.yff * vf + grid.yft * vt), vt * np.conj(grid.ytf * vf + grid.ytt * vt)


def congested(grid: Grid, loading: Any, limit_percent: float) -> list[BranchState]:
    out = []
    for i in np.flatnonzero(loading > limit_percent):
        element, _, idx = grid.branch_ids[i].partition(":")
        out.append(
            BranchState(
                element=element if element in ("line", "trafo") else "other",  # type: ignore[arg-type]
                id=idx,
                loading_percent=float(loading[i]),
                limit_percent=limit_percent,
            )
        )
    return out


def voltage_deviations(
    grid: Grid, vm: Any, v_min: float, v_max: float, tol: float = 0.0
) -> list[VoltageDeviation]:
    out = []
    for b in np.flatnonzero(grid.active):
        if vm[b] < v_min - tol:
            out.append(
                VoltageDeviation(
                    bus=grid.bus_ids[b],
                    vm_pu=float(vm[b]),
                    limit_pu=v_min,
                    deviation_pu=float(v_min - vm[b]),
                )
            )
        elif vm[b] > v_max + tol:
            out.append(
                VoltageDeviation(
                    bus=grid.bus_ids[b],
                    vm_pu=float(vm[b]),
                    limit_pu=v_max,
                    deviation_pu=float(vm[b] - v_max),
                )
            )
    return out


def needs_period(grid: Grid, period_index: int, options: ClearingOptions) -> NeedsPeriod:
    sf, st = base_flows(grid)
    loading = branch_loading_percent(grid, grid.vm, sf, st)
    active = grid.vm[grid.active]
    ref_rows = np.flatnonzero(grid.gen_is_ref)
    return NeedsPeriod(
        period_index=period_index,
        converged=grid.converged,
        congested=congested(grid, loading, options.loading_max_percent),
        voltage_deviations=voltage_deviations(grid, grid.vm, options.v_min_pu, options.v_max_pu),
        losses_mw=float(np.sum((sf + st).real) * grid.base_mva),
        min_vm_pu=float(active.min()),
        max_vm_pu=float(active.max()),
        upstream_p_mw=float(np.sum(grid.gen_pg[ref_rows]) * grid.base_mva),
    )


def identify_needs(
    net: Any, schedules: Sequence[PeriodSchedule], options: ClearingOptions | None = None
) -> NeedsResult:
    """Power flow per period on copies of ``net``; a non-converged period is reported, not raised."""
    opts = options or ClearingOptions()
    periods: list[NeedsPeriod] = []
    findings: list[Finding] = []
    for schedule in schedules or [None]:  # type: ignore[list-item]
        grid, _ = period_grid(net, schedule, v_min_pu=opts.v_min_pu, v_max_pu=opts.v_max_pu)
        findings.extend(grid.findings)
        periods.append(needs_period(grid, schedule.period_index if schedule else 0, opts))
    failed = [p.period_index for p in periods if not p.converged]
    return NeedsResult(
        status="error" if failed else "optimal",
        message=f"power flow did not converge in periods {failed}" if failed else "",
        periods=periods,
        findings=findings,
    )
