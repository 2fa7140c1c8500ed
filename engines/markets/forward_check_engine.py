"""The `dso-forward-check` engine: `engines.markets.dso_check` on a zone's network as a job.

The network is the zone's CIM model (`cim.to_pandapower` names buses by mRID) or a network bundled
with pandapower (nodes spelled `<prefix><bus index>`, as the clearing engine spells them)."""

from __future__ import annotations

from typing import Any

from cim.model import GridModel, find_bus
from cim.to_pandapower import to_pandapower
from engines.base import ProgressFn
from engines.fmct.clearing_job import BUNDLED_NODE_PREFIX
from engines.fmct.needs_engine import bundled_network
from engines.markets.dso_check import check
from gateway.messages.activations import CHECK_KIND, ForwardCheckInput, ForwardCheckOutput


def _nodes(data: ForwardCheckInput) -> set[str]:
    return {c.node_mrid for c in data.candidates} | {i.node_mrid for i in data.local}


def bus_map(data: ForwardCheckInput) -> tuple[Any, dict[str, int]]:
    if isinstance(data.network, GridModel):
        net = to_pandapower(data.network)
        index = {str(n): int(i) for i, n in zip(net.bus.index, net.bus.name, strict=True)}
        out: dict[str, int] = {}
        for mrid in _nodes(data):
            bus = find_bus(data.network, mrid)
            if bus is not None and bus.mrid in index:
                out[mrid] = index[bus.mrid]
        return net, out
    net = bundled_network(data.network)
    prefix = BUNDLED_NODE_PREFIX[data.network]
    buses = {int(i) for i in net.bus.index}
    out = {}
    for mrid in _nodes(data):
        suffix = mrid.removeprefix(prefix)
        if mrid.startswith(prefix) and suffix.isdigit() and int(suffix) in buses:
            out[mrid] = int(suffix)
    return net, out


class ForwardCheckEngine:
    kind = CHECK_KIND
    input_type = ForwardCheckInput
    output_type = ForwardCheckOutput

    def run(self, data: ForwardCheckInput, progress: ProgressFn) -> ForwardCheckOutput:
        progress(0.0, f"power flow check of {len(data.candidates)} candidate(s)")
        net, buses = bus_map(data)
        return check(net, buses, data)
