"""The `fmct-clear` engine: a market session's clearing (`engines.fmct.clearing.clear`) as a job.

Input and output are `engines.fmct.clearing_job` Structs. Orders arrive with node mRIDs; this
engine maps them to the buses of the network it builds (a zone's CIM model, or a network bundled
with pandapower), clears, and names buses and branches in the result by mRID again, so the
gateway and the participants never see a converter's row numbers. It also reports the grid
before clearing (the base schedules' power flow) for the before/after comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from cim.model import GridModel, find_bus
from cim.to_pandapower import to_pandapower
from engines.base import ProgressFn
from engines.fmct.clearing import clear
from engines.fmct.clearing_job import (
    BUNDLED_NODE_PREFIX,
    KIND,
    BasePeriod,
    ClearingJobInput,
    ClearingJobOutput,
)
from engines.fmct.needs import base_flows, branch_loading_percent, needs_period
from engines.fmct.needs_engine import bundled_network
from engines.fmct.network import period_grid
from engines.fmct.schema import (
    BranchState,
    ClearingOptions,
    ClearingResult,
    PeriodResult,
    PeriodSchedule,
    VoltageDeviation,
)


class NodeNames:
    """mRID <-> pandapower bus key, and result labels -> public names, for one network."""

    def __init__(
        self,
        net: Any,
        to_bus: Callable[[str], str],
        bus_name: Callable[[str], str | None],
        branch_name: Callable[[str], str],
    ) -> None:
        self.net = net
        self.to_bus = to_bus
        self.bus_name = bus_name
        self.branch_name = branch_name

    def buses(self, values: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, value in values.items():
            name = self.bus_name(key)
            if name is not None:  # rows without a net bus (pandapower internals) are dropped
                out[name] = value
        return out

    def deviations(self, items: list[VoltageDeviation]) -> list[VoltageDeviation]:
        return [
            msgspec.structs.replace(d, bus=self.bus_name(d.bus) or d.bus)
            for d in items
            if self.bus_name(d.bus) is not None
        ]

    def branches(self, values: dict[str, float]) -> dict[str, float]:
        return {self.branch_name(k): v for k, v in values.items()}


def bundled_names(name: str, net: Any) -> NodeNames:
    prefix = BUNDLED_NODE_PREFIX[name]
    indices = {str(int(i)) for i in net.bus.index}

    def to_bus(mrid: str) -> str:
        suffix = mrid.removeprefix(prefix)
        # An unknown mRID is passed on unchanged: the clearing reports it as an unknown bus.
        return suffix if mrid.startswith(prefix) and suffix in indices else mrid

    def bus_name(key: str) -> str | None:
        return prefix + key if key in indices else None

    return NodeNames(net, to_bus, bus_name, lambda label: label)


def model_names(model: GridModel, net: Any) -> NodeNames:
    """`to_pandapower` names every bus and branch by its mRID; connectivity nodes resolve to
    their topological node's bus."""
    names = {str(int(i)): str(n) for i, n in zip(net.bus.index, net.bus.name, strict=True)}

    def to_bus(mrid: str) -> str:
        bus = find_bus(model, mrid)
        return bus.mrid if bus is not None else mrid

    def branch_name(label: str) -> str:
        element, _, idx = label.partition(":")
        table = net[element] if element in ("line", "trafo", "impedance") else None
        if table is None or not idx.isdigit() or int(idx) not in table.index:
            return label
        value = table.name.at[int(idx)]
        return str(value) if isinstance(value, str) and value else label

    return NodeNames(net, to_bus, names.get, branch_name)


def base_period(net: Any, schedule: PeriodSchedule, options: ClearingOptions) -> BasePeriod:
    grid, _ = period_grid(net, schedule, v_min_pu=options.v_min_pu, v_max_pu=options.v_max_pu)
    state = needs_period(grid, schedule.period_index, options)
    loading = branch_loading_percent(grid, grid.vm, *base_flows(grid))
    return BasePeriod(
        state=state,
        branch_loading_percent={
            grid.branch_ids[i]: float(loading[i])
            for i in range(grid.n_branch)
            if grid.rating[i] != float("inf")
        },
    )


def _renamed_period(p: PeriodResult, names: NodeNames) -> PeriodResult:
    return msgspec.structs.replace(
        p,
        vm_pu=names.buses(p.vm_pu),
        branch_loading_percent=names.branches(p.branch_loading_percent),
        binding_branches=[names.branch_name(b) for b in p.binding_branches],
        voltage_deviations=names.deviations(p.voltage_deviations),
        dlmp_p_eur_per_mwh=names.buses(p.dlmp_p_eur_per_mwh),
        qlmp_eur_per_mvarh=names.buses(p.qlmp_eur_per_mvarh),
    )


def _renamed_base(b: BasePeriod, names: NodeNames) -> BasePeriod:
    def branch(c: BranchState) -> BranchState:
        return msgspec.structs.replace(c, id=names.branch_name(f"{c.element}:{c.id}"))

    state = b.state
    return BasePeriod(
        state=msgspec.structs.replace(
            state,
            congested=[branch(c) for c in state.congested],
            voltage_deviations=names.deviations(state.voltage_deviations),
        ),
        branch_loading_percent=names.branches(b.branch_loading_percent),
    )


class ClearingEngine:
    kind = KIND
    input_type = ClearingJobInput
    output_type = ClearingJobOutput

    def run(self, data: ClearingJobInput, progress: ProgressFn) -> ClearingJobOutput:
        if isinstance(data.network, GridModel):
            net = to_pandapower(data.network)
            names = model_names(data.network, net)
        else:
            net = bundled_network(data.network)
            names = bundled_names(data.network, net)
        progress(0.0, "power flow of the base schedules")
        base = [base_period(net, s, data.options) for s in data.schedules]
        offers = [msgspec.structs.replace(o, bus=names.to_bus(o.bus)) for o in data.offers]
        requests = [msgspec.structs.replace(r, bus=names.to_bus(r.bus)) for r in data.requests]

        def clearing_progress(fraction: float, stage: str) -> None:
            progress(0.05 + 0.95 * fraction, stage)

        result = clear(
            net, data.schedules, requests, offers, data.options, progress=clearing_progress
        )
        return ClearingJobOutput(
            session_id=data.session_id,
            result=_renamed(result, names),
            base=[_renamed_base(b, names) for b in base],
        )


def _renamed(result: ClearingResult, names: NodeNames) -> ClearingResult:
    return msgspec.structs.replace(
        result, periods=[_renamed_period(p, names) for p in result.periods]
    )
