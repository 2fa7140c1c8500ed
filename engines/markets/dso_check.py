"""The DSO's check before flexibility leaves its grid (HLUC_01_UCS_04): may these offers be
activated by the TSO without breaking the distribution grid's limits? Pure: net in, verdicts out.

Per period, AC power flow (pandapower) of the base schedule plus the locally cleared dispatch is the
reference. Candidates of a direction are then added in the TSO's merit order, one at a time; a
candidate whose activation (together with those already allowed) puts a branch above its loading
limit or a node outside its voltage band is refused, naming the element. Limits already exceeded in
the reference may not get worse.

Why checking the whole allowed set is enough: the TSO activates some subset of one direction in a
period. On a radial feeder an injection at a node changes the flow only on the lines of its path to
the substation, all in the same sense, and raises (or lowers) every voltage; to first order each
line flow and each voltage is then monotone in every activated volume, so its extremes over the
subsets are the reference and the full set, both checked here.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandapower as pp

from engines.fmct.schema import PeriodSchedule
from gateway.messages.activations import (
    CandidateVerdict,
    DirectionCheck,
    ForwardCandidate,
    ForwardCheckInput,
    ForwardCheckOutput,
)

TOL = 1e-6


@dataclass(frozen=True)
class GridState:
    converged: bool
    loading: dict[str, float]  # "line:3" -> percent
    vm: dict[int, float]


@dataclass(frozen=True)
class Limits:
    loading: dict[str, float]
    v_min: dict[int, float]
    v_max: dict[int, float]


def _element(table: Any, key: str) -> int | None:
    named = table.index[table.name == key]
    if len(named) == 1:
        return int(named[0])
    return int(key) if key.isdigit() and int(key) in table.index else None


def scheduled_net(net: Any, schedule: PeriodSchedule) -> Any:
    """A fresh copy with the schedule's scalings and per-element overrides applied."""
    out = copy.deepcopy(net)
    out.load["p_mw"] *= schedule.load_scaling
    out.load["q_mvar"] *= schedule.load_scaling
    out.sgen["p_mw"] *= schedule.sgen_scaling
    for table, column, values in (
        ("load", "p_mw", schedule.load_p_mw),
        ("load", "q_mvar", schedule.load_q_mvar),
        ("sgen", "p_mw", schedule.sgen_p_mw),
        ("gen", "p_mw", schedule.gen_p_mw),
    ):
        for key, value in values.items():
            idx = _element(out[table], key)
            if idx is not None:
                out[table].at[idx, column] = value
    return out


def power_flow(net: Any, injections: dict[int, float]) -> GridState:
    """AC power flow of a copy of ``net`` with ``injections`` (MW by bus index) added."""
    work = copy.deepcopy(net)
    for bus, p_mw in injections.items():
        if abs(p_mw) > TOL:
            pp.create_sgen(work, bus, p_mw=p_mw, name="flex-activation")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(work, numba=False)
    except pp.LoadflowNotConverged:
        return GridState(False, {}, {})
    loading = {f"line:{i}": float(v) for i, v in work.res_line.loading_percent.items()}
    loading.update({f"trafo:{i}": float(v) for i, v in work.res_trafo.loading_percent.items()})
    vm = {int(i): float(v) for i, v in work.res_bus.vm_pu.items()}
    return GridState(True, loading, vm)


def _limits(ref: GridState, data: ForwardCheckInput) -> Limits:
    slack = 1e-3  # a limit already exceeded in the reference may stay, not get worse
    return Limits(
        loading={k: max(data.loading_max_percent, v + slack) for k, v in ref.loading.items()},
        v_min={b: min(data.v_min_pu, v - slack) for b, v in ref.vm.items()},
        v_max={b: max(data.v_max_pu, v + slack) for b, v in ref.vm.items()},
    )


def violation(state: GridState, limits: Limits, bus_name: dict[int, str]) -> str:
    """The worst limit the state breaks, in words; empty when within limits."""
    if not state.converged:
        return "the power flow does not converge with this activation"
    worst = ""
    excess = 0.0
    for branch, value in state.loading.items():
        if value - limits.loading[branch] > excess:
            excess = value - limits.loading[branch]
            worst = f"{branch} would be loaded {value:.1f}% (limit {limits.loading[branch]:.1f}%)"
    for bus, vm in state.vm.items():
        low, high = limits.v_min[bus] - vm, vm - limits.v_max[bus]
        if max(low, high) * 100.0 > excess:
            excess = max(low, high) * 100.0
            bound = limits.v_min[bus] if low > high else limits.v_max[bus]
            worst = (
                f"voltage at {bus_name.get(bus, str(bus))} would be {vm:.4f} pu (limit {bound:.3f})"
            )
    return worst


def _merit(candidates: list[ForwardCandidate]) -> list[ForwardCandidate]:
    """The TSO's order: up bids cheapest first, down bids highest price first."""
    return sorted(
        candidates,
        key=lambda c: (
            c.tso_price_eur_per_mwh if c.direction == "up" else -c.tso_price_eur_per_mwh,
            c.offer_id,
        ),
    )


def check(net: Any, bus_of: dict[str, int], data: ForwardCheckInput) -> ForwardCheckOutput:
    """``bus_of``: node mRID -> pandapower bus index of ``net``."""
    bus_name = {b: m for m, b in bus_of.items()}
    verdicts: list[CandidateVerdict] = []
    checks: list[DirectionCheck] = []
    local: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for inj in data.local:
        if inj.node_mrid in bus_of:
            local[inj.period_index][bus_of[inj.node_mrid]] += inj.p_mw
    by_period: dict[int, list[ForwardCandidate]] = defaultdict(list)
    for c in data.candidates:
        by_period[c.period_index].append(c)
    schedules = {s.period_index: s for s in data.schedules}
    for t, candidates in sorted(by_period.items()):
        unknown = [c for c in candidates if c.node_mrid not in bus_of]
        verdicts += [
            CandidateVerdict(
                offer_id=c.offer_id,
                period_index=t,
                allowed=False,
                reason=f"node {c.node_mrid} is not in the network",
            )
            for c in unknown
        ]
        if t not in schedules:
            verdicts += [
                CandidateVerdict(
                    offer_id=c.offer_id,
                    period_index=t,
                    allowed=False,
                    reason=f"no schedule for period {t}",
                )
                for c in candidates
                if c not in unknown
            ]
            continue
        base = scheduled_net(net, schedules[t])
        reference = dict(local[t])
        ref_state = power_flow(base, reference)
        if not ref_state.converged:
            return ForwardCheckOutput(
                forwarding_id=data.forwarding_id,
                status="error",
                message=f"period {t}: the power flow of the cleared dispatch does not converge",
            )
        limits = _limits(ref_state, data)
        for direction in ("up", "down"):
            chosen = [c for c in candidates if c.direction == direction and c not in unknown]
            if not chosen:
                continue
            sign = 1.0 if direction == "up" else -1.0
            injections = dict(reference)
            state = ref_state
            allowed = refused = 0.0
            for c in _merit(chosen):
                bus = bus_of[c.node_mrid]
                trial = dict(injections)
                trial[bus] = trial.get(bus, 0.0) + sign * c.p_mw
                trial_state = power_flow(base, trial)
                why = violation(trial_state, limits, bus_name)
                if why:
                    refused += c.p_mw
                    verdicts.append(
                        CandidateVerdict(
                            offer_id=c.offer_id, period_index=t, allowed=False, reason=why
                        )
                    )
                    continue
                injections, state = trial, trial_state
                allowed += c.p_mw
                verdicts.append(CandidateVerdict(offer_id=c.offer_id, period_index=t, allowed=True))
            checks.append(
                DirectionCheck(
                    period_index=t,
                    direction=direction,
                    allowed_mw=allowed,
                    refused_mw=refused,
                    max_loading_percent=max(state.loading.values(), default=0.0),
                    min_vm_pu=min(state.vm.values()),
                    max_vm_pu=max(state.vm.values()),
                )
            )
    return ForwardCheckOutput(
        forwarding_id=data.forwarding_id, status="optimal", verdicts=verdicts, checks=checks
    )
